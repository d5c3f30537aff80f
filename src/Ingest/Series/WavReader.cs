using System.Buffers.Binary;

namespace Contrastive.Ingest;

/// <summary>
/// Reads RIFF/WAVE audio: PCM 8, 16, 24 or 32 bit, IEEE float 32 or 64 bit, WAVE_FORMAT_EXTENSIBLE of either,
/// any channel count; unknown chunks are skipped. A malformed file raises <see cref="InvalidDataException"/> saying
/// what is wrong and at which byte.
/// </summary>
public static class WavReader
{
    private static readonly Guid PcmSubformat = new("00000001-0000-0010-8000-00aa00389b71");
    private static readonly Guid FloatSubformat = new("00000003-0000-0010-8000-00aa00389b71");

    public static WavAudio Read(ReadOnlySpan<byte> file, string name)
    {
        if (file.Length < 12 || !file[..4].SequenceEqual("RIFF"u8) || !file[8..12].SequenceEqual("WAVE"u8))
            throw new InvalidDataException($"'{name}' is not a WAV file (no RIFF/WAVE header)");
        int pos = 12;
        int format = -1, channels = 0, rate = 0, bits = 0, block = 0;
        ReadOnlySpan<byte> data = default;
        bool haveData = false;
        while (pos + 8 <= file.Length)
        {
            var id = file.Slice(pos, 4);
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(file[(pos + 4)..]);
            int body = pos + 8;
            bool isData = id.SequenceEqual("data"u8);
            if (size > (uint)(file.Length - body))
            {
                if (!isData) throw new InvalidDataException($"'{name}': chunk '{Ascii(id)}' at byte {pos} says {size} bytes, but only {file.Length - body} follow");
                size = (uint)(file.Length - body); // a truncated data chunk: keep the whole frames that are there
            }
            if (id.SequenceEqual("fmt "u8))
            {
                if (size < 16) throw new InvalidDataException($"'{name}': the fmt chunk is {size} bytes, below the 16 a WAV format needs");
                var f = file.Slice(body, (int)size);
                format = BinaryPrimitives.ReadUInt16LittleEndian(f);
                channels = BinaryPrimitives.ReadUInt16LittleEndian(f[2..]);
                rate = BinaryPrimitives.ReadInt32LittleEndian(f[4..]);
                block = BinaryPrimitives.ReadUInt16LittleEndian(f[12..]);
                bits = BinaryPrimitives.ReadUInt16LittleEndian(f[14..]);
                if (format == 0xFFFE)
                {
                    if (size < 40) throw new InvalidDataException($"'{name}': an extensible fmt chunk needs 40 bytes, it has {size}");
                    var sub = new Guid(f.Slice(24, 16));
                    format = sub == PcmSubformat ? 1 : sub == FloatSubformat ? 3 : throw new InvalidDataException($"'{name}': extensible sub-format {sub} is neither PCM nor float");
                }
            }
            else if (isData)
            {
                data = file.Slice(body, (int)size);
                haveData = true;
            }
            pos = body + (int)size + (int)(size & 1); // chunks are padded to even sizes
        }
        if (format < 0) throw new InvalidDataException($"'{name}' has no fmt chunk");
        if (!haveData) throw new InvalidDataException($"'{name}' has no data chunk");
        if (channels < 1) throw new InvalidDataException($"'{name}': {channels} channels");
        if (rate < 1) throw new InvalidDataException($"'{name}': sample rate {rate}");
        int bytes = bits / 8;
        bool ok = (format == 1 && bits is 8 or 16 or 24 or 32) || (format == 3 && bits is 32 or 64);
        if (!ok) throw new InvalidDataException($"'{name}': format {(format == 1 ? "PCM" : format == 3 ? "float" : $"code {format}")} with {bits} bits per sample is not supported (PCM 8/16/24/32, float 32/64)");
        if (block != channels * bytes) throw new InvalidDataException($"'{name}': block align {block} is not {channels} channels × {bytes} bytes");

        int frames = data.Length / block;
        var samples = new float[checked(channels * frames)];
        for (int t = 0; t < frames; t++)
        {
            var frame = data.Slice(t * block, block);
            for (int c = 0; c < channels; c++)
            {
                var s = frame.Slice(c * bytes, bytes);
                samples[c * frames + t] = (format, bits) switch
                {
                    (1, 8) => (s[0] - 128) / 128f,
                    (1, 16) => BinaryPrimitives.ReadInt16LittleEndian(s) / 32768f,
                    (1, 24) => ((s[0] | (s[1] << 8) | (s[2] << 16)) << 8 >> 8) / 8388608f,
                    (1, 32) => BinaryPrimitives.ReadInt32LittleEndian(s) / 2147483648f,
                    (3, 32) => BinaryPrimitives.ReadSingleLittleEndian(s),
                    _ => (float)BinaryPrimitives.ReadDoubleLittleEndian(s),
                };
            }
        }
        return new WavAudio(channels, rate, frames, samples);
    }

    private static string Ascii(ReadOnlySpan<byte> id)
    {
        Span<char> c = stackalloc char[id.Length];
        for (int i = 0; i < id.Length; i++) c[i] = id[i] is >= 32 and < 127 ? (char)id[i] : '?';
        return new string(c);
    }
}
