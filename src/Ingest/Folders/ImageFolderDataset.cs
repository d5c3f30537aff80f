namespace Contrastive.Ingest;

/// <summary>
/// A folder of image files: root/&lt;class&gt;/&lt;file&gt; (labels are the indices of the sorted class folder names) or a
/// flat folder (no labels). Files are sorted by path (global sample index = position in that order). An epoch reads
/// them in chunks of up to <see cref="ChunkSize"/> files (the read unit for ranks and cursors): with shuffling,
/// consecutive slices of a permutation of all the files, otherwise consecutive files. A chunk's files are read into one
/// pooled buffer with positional reads, every image a slice of it. Symbolic links are followed: a link to a file reads
/// the target's bytes, a link to a directory is walked (each real directory once, so link cycles end); a link whose
/// target does not exist is listed, and read as a bad sample that names it. Captions: a text file beside an image with the
/// same stem (photo.jpg → photo.txt) is its caption; when any image has one the folder has captions
/// (<see cref="HasCaptions"/>) and an image without one is a bad sample.
/// </summary>
public sealed class ImageFolderDataset : IImageDataset
{
    public static readonly string[] Extensions = [".jpg", ".jpeg", ".png", ".webp"];

    /// <summary>Audio files for the CPC path (decoded by the series workers).</summary>
    public static readonly string[] AudioExtensions = [".wav"];

    private readonly string[] _files;   // full paths, sorted
    private readonly long[] _labels;
    private readonly string[] _keys;    // paths relative to the root
    private readonly string?[]? _captions; // per file, its caption sidecar's full path (null: none); null when no image has one

    private ImageFolderDataset(string uri, string root, string[] files, long[] labels, IReadOnlyList<string>? classes, int chunkSize,
        bool audio = false, string?[]? captions = null)
    {
        _captions = captions;
        Format = audio ? "audiofolder" : "imagefolder";
        Uri = uri;
        Root = root;
        _files = files;
        _labels = labels;
        _keys = Array.ConvertAll(files, f => Path.GetRelativePath(root, f).Replace('\\', '/'));
        ClassNames = classes;
        ChunkSize = chunkSize;
        var columns = new Dictionary<string, string>
        {
            [audio ? "audio" : "image"] = "file bytes",
            ["label"] = classes is null ? "(none: flat folder)" : "class folder name",
            ["key"] = "relative path",
        };
        if (captions is not null) columns["text"] = "sidecar file: image stem + .txt";
        Columns = columns;
    }

    public string Uri { get; }

    public string Root { get; }

    public string Format { get; }

    public int ShardCount => 1;

    public long SampleCount => _files.Length;

    public bool HasLabels => ClassNames is not null;

    /// <summary>True when some image has a caption file beside it (same stem, .txt).</summary>
    public bool HasCaptions => _captions is not null;

    public IReadOnlyDictionary<string, string> Columns { get; }

    public IReadOnlyList<string>? ClassNames { get; }

    /// <summary>Files per chunk. Default 100.</summary>
    public int ChunkSize { get; }

    /// <summary>Whether <paramref name="directory"/> holds any file with one of the extensions (default: the image ones), at any depth.</summary>
    public static bool HasImages(string directory, IReadOnlyList<string>? extensions = null) =>
        Walk(directory).Any(f => Matches(f, extensions ?? Extensions));

    /// <summary>
    /// The files under <paramref name="directory"/> at any depth (paths through it as given), following symbolic links:
    /// a link to a directory is walked unless the directory it leads to was walked already (so cycles end and nothing is
    /// listed twice); a link whose target is missing is listed as a file. Unreadable directories are left out.
    /// </summary>
    internal static IEnumerable<string> Walk(string directory)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = false, IgnoreInaccessible = true, AttributesToSkip = 0 };
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<(string Path, string Real)>();
        string root = Path.GetFullPath(directory);
        pending.Push((root, RealDirectory(new DirectoryInfo(root))));
        while (pending.TryPop(out var dir))
        {
            if (!seen.Add(dir.Real)) continue;
            List<FileSystemInfo> entries;
            try { entries = new DirectoryInfo(dir.Path).EnumerateFileSystemInfos("*", options).ToList(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            var subdirectories = new List<(string, string)>();
            foreach (var entry in entries)
            {
                string path = Path.Combine(dir.Path, entry.Name);
                if (entry is DirectoryInfo d) subdirectories.Add((path, d.LinkTarget is null ? Path.Combine(dir.Real, entry.Name) : RealDirectory(d)));
                else yield return path;
            }
            for (int i = subdirectories.Count - 1; i >= 0; i--) pending.Push(subdirectories[i]);
        }
    }

    /// <summary>
    /// A name for the directory a path leads to: the final target of a link (else the path), made full. Walking from
    /// there, each link's name is one fixed string, so following a cycle comes back to a name already seen.
    /// </summary>
    private static string RealDirectory(DirectoryInfo d)
    {
        try
        {
            if (d.LinkTarget is not null && d.ResolveLinkTarget(returnFinalTarget: true) is { } target) return Path.GetFullPath(target.FullName);
        }
        catch (IOException)
        {
            // a link loop the system refuses to resolve: walk it under its own name, once
        }
        return Path.GetFullPath(d.FullName);
    }

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
        var texts = new HashSet<string>(StringComparer.Ordinal);
        bool IsImageNotingText(string f)
        {
            if (!audio && Path.GetExtension(f).Equals("." + CaptionText.Extension, StringComparison.OrdinalIgnoreCase)) texts.Add(f);
            return IsImage(f);
        }
        var loose = Directory.EnumerateFiles(root).Where(IsImageNotingText).ToList();
        var classDirs = Directory.EnumerateDirectories(root)
            .Where(d => !Path.GetFileName(d).StartsWith('.') && Walk(d).Any(IsImage))
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
                var inClass = Walk(classDirs[c]).Where(IsImageNotingText).ToList();
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
        string?[]? captions = null;
        if (texts.Count > 0)
        {
            captions = new string?[files.Count];
            bool any = false;
            for (int i = 0; i < files.Count; i++)
            {
                string sidecar = Path.ChangeExtension(files[i], "." + CaptionText.Extension);
                if (!texts.Contains(sidecar)) sidecar = Path.ChangeExtension(files[i], "." + CaptionText.Extension.ToUpperInvariant());
                if (texts.Contains(sidecar)) { captions[i] = sidecar; any = true; }
            }
            if (!any) captions = null;
        }
        return new ImageFolderDataset(uri, root, [.. files], [.. labels], classes, chunkSize, audio, captions);
    }

    public async IAsyncEnumerable<SampleChunk> ReadAsync(ReadPlan plan, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        foreach (var (position, files, skipped) in SampleOrder.Slices(_files.Length, ChunkSize, plan))
        {
            ct.ThrowIfCancellationRequested();
            yield return await ReadChunkAsync(files, plan.Epoch, position, skipped, plan.Captions, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reads <paramref name="files"/> (sample indices) into one pooled buffer: every file is opened first (through any
    /// symbolic link) and its length taken from the open file, so a link gives its target's bytes and a file that changed
    /// since the listing gives what it holds now. A file that cannot be opened or read is a sample without bytes whose
    /// problem says why (a dangling link names its target).
    /// </summary>
    private async Task<SampleChunk> ReadChunkAsync(int[] files, int epoch, int unit, int offset, bool readCaptions, CancellationToken ct)
    {
        int n = files.Length;
        var handles = new Microsoft.Win32.SafeHandles.SafeFileHandle?[n];
        var lengths = new long[n];
        string?[]? problems = null;
        var owner = new PooledBuffers();
        try
        {
            long total = 0;
            for (int i = 0; i < n; i++)
            {
                try
                {
                    handles[i] = File.OpenHandle(_files[files[i]], FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
                    lengths[i] = RandomAccess.GetLength(handles[i]!);
                    if (lengths[i] > int.MaxValue) throw new IOException($"{lengths[i]} bytes, too large for an image");
                    total += lengths[i];
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    (problems ??= new string?[n])[i] = Unreadable(_files[files[i]], e);
                    handles[i]?.Dispose();
                    handles[i] = null;
                }
            }
            var buffer = owner.Rent(checked((int)total));
            var images = new ReadOnlyMemory<byte>[n];
            int at = 0;
            for (int i = 0; i < n; i++)
            {
                if (handles[i] is not { } handle) continue;
                int length = (int)lengths[i], read = 0;
                try
                {
                    while (read < length)
                    {
                        int r = await RandomAccess.ReadAsync(handle, buffer.AsMemory(at + read, length - read), read, ct).ConfigureAwait(false);
                        if (r == 0) break; // shrank since it was opened: the sample gets the bytes there are
                        read += r;
                    }
                    images[i] = buffer.AsMemory(at, read);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    (problems ??= new string?[n])[i] = Unreadable(_files[files[i]], e);
                }
                at += length;
            }
            var labels = new long[n];
            var indices = new long[n];
            var keys = new string?[n];
            for (int i = 0; i < n; i++)
            {
                labels[i] = _labels[files[i]];
                indices[i] = files[i];
                keys[i] = _keys[files[i]];
            }
            ReadOnlyMemory<byte>[]? captions = null;
            if (readCaptions && _captions is not null)
            {
                captions = await ReadCaptionsAsync(files, owner, problems ??= new string?[n], ct).ConfigureAwait(false);
                problems = SampleChunk.MarkMissingCaptions(captions, problems);
                if (problems is not null && problems.All(p => p is null)) problems = null;
            }
            var chunk = new SampleChunk(Root, unit, epoch, images, labels, indices, keys, owner) { Unit = unit, Offset = offset, Problems = problems, Captions = captions };
            owner = null;
            return chunk;
        }
        finally
        {
            foreach (var h in handles) h?.Dispose();
            owner?.Dispose();
        }
    }

    /// <summary>
    /// Reads the caption files of <paramref name="files"/> into one pooled buffer of <paramref name="owner"/>; a sample without
    /// one gets an empty caption, and one whose file cannot be read or is too large a problem.
    /// </summary>
    private async Task<ReadOnlyMemory<byte>[]> ReadCaptionsAsync(int[] files, PooledBuffers owner, string?[] problems, CancellationToken ct)
    {
        int n = files.Length;
        var captions = new ReadOnlyMemory<byte>[n];
        var handles = new Microsoft.Win32.SafeHandles.SafeFileHandle?[n];
        var lengths = new int[n];
        try
        {
            long total = 0;
            for (int i = 0; i < n; i++)
            {
                if (_captions![files[i]] is not { } path) continue;
                try
                {
                    handles[i] = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
                    long length = RandomAccess.GetLength(handles[i]!);
                    if (length > CaptionText.MaxBytes) throw new IOException($"{length} bytes, more than the {CaptionText.MaxBytes} read for a caption");
                    lengths[i] = (int)length;
                    total += length;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    problems[i] ??= $"its caption file '{path}' cannot be read: {e.Message}";
                    handles[i]?.Dispose();
                    handles[i] = null;
                }
            }
            if (total == 0) return captions;
            var buffer = owner.Rent(checked((int)total));
            int at = 0;
            for (int i = 0; i < n; i++)
            {
                if (handles[i] is not { } handle) continue;
                int read = 0;
                try
                {
                    while (read < lengths[i])
                    {
                        int r = await RandomAccess.ReadAsync(handle, buffer.AsMemory(at + read, lengths[i] - read), read, ct).ConfigureAwait(false);
                        if (r == 0) break;
                        read += r;
                    }
                    captions[i] = buffer.AsMemory(at, read);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    problems[i] ??= $"its caption file '{_captions![files[i]]}' cannot be read: {e.Message}";
                }
                at += lengths[i];
            }
            return captions;
        }
        finally
        {
            foreach (var h in handles) h?.Dispose();
        }
    }

    /// <summary>Why a listed file cannot be read: a dangling symbolic link names its target.</summary>
    private static string Unreadable(string path, Exception e)
    {
        try
        {
            var info = new FileInfo(path);
            if (info.LinkTarget is { } target && info.ResolveLinkTarget(returnFinalTarget: true) is not { Exists: true })
                return $"the symbolic link '{path}' leads to '{target}', which does not exist";
        }
        catch (IOException)
        {
            return $"the symbolic link '{path}' cannot be resolved (a loop?): {e.Message}";
        }
        return $"the file '{path}' cannot be read: {e.Message}";
    }
}
