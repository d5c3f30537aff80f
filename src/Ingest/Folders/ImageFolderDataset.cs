namespace Contrastive.Ingest;

/// <summary>
/// A folder of image files: root/&lt;class&gt;/&lt;file&gt; (labels are the indices of the sorted class folder names) or a
/// flat folder (no labels). Files are sorted by path; each chunk is up to <see cref="ChunkSize"/> consecutive files,
/// read into one pooled buffer with positional reads, every image a slice of it.
/// </summary>
public sealed class ImageFolderDataset : IImageDataset
{
    public static readonly string[] Extensions = [".jpg", ".jpeg", ".png", ".webp"];

    /// <summary>Audio files for the CPC path (decoded by the series workers).</summary>
    public static readonly string[] AudioExtensions = [".wav"];

    private readonly string[] _files;   // full paths, sorted
    private readonly long[] _labels;
    private readonly string[] _keys;    // paths relative to the root
    private readonly long[] _lengths;

    private ImageFolderDataset(string uri, string root, string[] files, long[] labels, long[] lengths, IReadOnlyList<string>? classes, int chunkSize,
        bool audio = false)
    {
        Format = audio ? "audiofolder" : "imagefolder";
        Uri = uri;
        Root = root;
        _files = files;
        _labels = labels;
        _lengths = lengths;
        _keys = Array.ConvertAll(files, f => Path.GetRelativePath(root, f).Replace('\\', '/'));
        ClassNames = classes;
        ChunkSize = chunkSize;
        Columns = new Dictionary<string, string>
        {
            [audio ? "audio" : "image"] = "file bytes",
            ["label"] = classes is null ? "(none: flat folder)" : "class folder name",
            ["key"] = "relative path",
        };
    }

    public string Uri { get; }

    public string Root { get; }

    public string Format { get; }

    public int ShardCount => 1;

    public long SampleCount => _files.Length;

    public bool HasLabels => ClassNames is not null;

    public IReadOnlyDictionary<string, string> Columns { get; }

    public IReadOnlyList<string>? ClassNames { get; }

    /// <summary>Files per chunk. Default 100.</summary>
    public int ChunkSize { get; }

    /// <summary>Whether <paramref name="directory"/> holds any file with one of the extensions (default: the image ones), at any depth.</summary>
    public static bool HasImages(string directory, IReadOnlyList<string>? extensions = null) =>
        Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Any(f => Matches(f, extensions ?? Extensions));

    private static bool Matches(string path, IReadOnlyList<string> extensions)
    {
        string name = Path.GetFileName(path);
        if (name.StartsWith('.')) return false;
        string ext = Path.GetExtension(name);
        foreach (var e in extensions) if (ext.Equals(e, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    /// <exception cref="DataSourceException">The folder mixes loose images and class folders, or has no images.</exception>
    public static ImageFolderDataset Open(string uri, string root, int chunkSize = 100) => Open(uri, root, chunkSize, audio: false);

    /// <summary>A folder of WAV files (root/&lt;class&gt;/&lt;file&gt;.wav or flat), read as bytes for the series workers to decode.</summary>
    public static ImageFolderDataset OpenAudio(string uri, string root, int chunkSize = 100) => Open(uri, root, chunkSize, audio: true);

    private static ImageFolderDataset Open(string uri, string root, int chunkSize, bool audio)
    {
        var extensions = audio ? AudioExtensions : Extensions;
        bool IsImage(string f) => Matches(f, extensions);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
        root = Path.GetFullPath(root);
        var loose = Directory.EnumerateFiles(root).Where(IsImage).ToList();
        var classDirs = Directory.EnumerateDirectories(root)
            .Where(d => !Path.GetFileName(d).StartsWith('.') && Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories).Any(IsImage))
            .OrderBy(d => Path.GetFileName(d), StringComparer.Ordinal)
            .ToList();
        if (loose.Count > 0 && classDirs.Count > 0)
            throw new DataSourceException(uri, $"Image folder '{uri}' has both images at its top level (e.g. '{Path.GetFileName(loose[0])}') and class folders " +
                $"(e.g. '{Path.GetFileName(classDirs[0])}'): put every image in a class folder, or none.");

        var files = new List<string>();
        var labels = new List<long>();
        IReadOnlyList<string>? classes = null;
        if (classDirs.Count > 0)
        {
            classes = classDirs.Select(Path.GetFileName).ToArray()!;
            for (int c = 0; c < classDirs.Count; c++)
            {
                var inClass = Directory.EnumerateFiles(classDirs[c], "*", SearchOption.AllDirectories).Where(IsImage).ToList();
                inClass.Sort(StringComparer.Ordinal);
                files.AddRange(inClass);
                labels.AddRange(Enumerable.Repeat((long)c, inClass.Count));
            }
        }
        else
        {
            loose.Sort(StringComparer.Ordinal);
            files.AddRange(loose);
            labels.AddRange(Enumerable.Repeat(Sample.NoLabel, loose.Count));
        }
        if (files.Count == 0) throw new DataSourceException(uri, $"{(audio ? "Audio" : "Image")} folder '{uri}' has no {(audio ? "audio files" : "images")} ({string.Join(", ", extensions)}).");
        var lengths = files.Select(f => new FileInfo(f).Length).ToArray();
        return new ImageFolderDataset(uri, root, [.. files], [.. labels], lengths, classes, chunkSize, audio);
    }

    public async IAsyncEnumerable<SampleChunk> ReadAsync(ReadPlan plan, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        foreach (var (position, c) in SampleOrder.Units((_files.Length + ChunkSize - 1) / ChunkSize, plan))
        {
            ct.ThrowIfCancellationRequested();
            int first = c * ChunkSize, n = Math.Min(ChunkSize, _files.Length - first);
            var chunk = await ReadChunkAsync(first, n, plan.Epoch, position, ct).ConfigureAwait(false);
            if (plan.Trim(SampleOrder.Select(chunk, plan), position, 0) is { } selected) yield return selected;
        }
    }

    private async Task<SampleChunk> ReadChunkAsync(int first, int n, int epoch, int unit, CancellationToken ct)
    {
        long total = 0;
        for (int i = 0; i < n; i++) total += _lengths[first + i];
        var owner = new PooledBuffers();
        try
        {
            var buffer = owner.Rent(checked((int)total));
            var images = new ReadOnlyMemory<byte>[n];
            int at = 0;
            for (int i = 0; i < n; i++)
            {
                string path = _files[first + i];
                int length = (int)_lengths[first + i];
                try
                {
                    using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
                    int read = 0;
                    while (read < length)
                    {
                        int r = await RandomAccess.ReadAsync(handle, buffer.AsMemory(at + read, length - read), read, ct).ConfigureAwait(false);
                        if (r == 0) break; // shrank since it was listed: the sample gets the bytes there are
                        read += r;
                    }
                    images[i] = buffer.AsMemory(at, read);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    images[i] = default; // unreadable (removed, no permission): counted as a bad sample downstream
                }
                at += length;
            }
            var indices = new long[n];
            for (int i = 0; i < n; i++) indices[i] = first + i;
            return new SampleChunk(Root, first / ChunkSize, epoch, images, _labels[first..(first + n)], indices, _keys[first..(first + n)], owner) { Unit = unit };
        }
        catch
        {
            owner.Dispose();
            throw;
        }
    }
}
