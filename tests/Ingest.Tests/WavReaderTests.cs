using System.Buffers.Binary;
using System.Text;

namespace Contrastive.Ingest.Tests;

public class WavReaderTests
{
    /// <summary>A WAV file: fmt chunk of the given code/bits, optional extra chunks before data, then the frames.</summary>
    private static byte[] Wav(int format, int channels, int rate, int bits, byte[] data, bool extensible = false, byte[]? extraChunk = null, int? blockOverride = null)
    {
        var ms = new MemoryStream();
        var w = new BinaryWriter(ms);
        w.Write("RIFF"u8); w.Write(0); w.Write("WAVE"u8);
        w.Write("fmt "u8);
        w.Write(extensible ? 40 : 16);
        w.Write((ushort)(extensible ? 0xFFFE : format)); w.Write((ushort)channels); w.Write(rate);
        int block = blockOverride ?? channels * bits / 8;
        w.Write(rate * block); w.Write((ushort)block); w.Write((ushort)bits);
        if (extensible)
        {
            w.Write((ushort)22); w.Write((ushort)bits); w.Write(0);
            w.Write(new Guid($"0000000{format}-0000-0010-8000-00aa00389b71").ToByteArray());
        }
        if (extraChunk is not null)
        {
            w.Write("LIST"u8); w.Write(extraChunk.Length); w.Write(extraChunk);
            if (extraChunk.Length % 2 == 1) w.Write((byte)0);
        }
        w.Write("data"u8); w.Write(data.Length); w.Write(data);
        w.Flush();
        var bytes = ms.ToArray();
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), bytes.Length - 8);
        return bytes;
    }

    [Fact]
    public void Pcm16_stereo_reads_channel_major_and_scaled()
    {
        short[] frames = [0, 16384, -32768, 32767, 100, -100]; // interleaved L R
        var data = new byte[frames.Length * 2];
        for (int i = 0; i < frames.Length; i++) BinaryPrimitives.WriteInt16LittleEndian(data.AsSpan(i * 2), frames[i]);
        var wav = WavReader.Read(Wav(1, 2, 16000, 16, data, extraChunk: Encoding.ASCII.GetBytes("odd")), "a.wav");
        Assert.Equal((2, 16000, 3), (wav.Channels, wav.SampleRate, wav.Frames));
        Assert.Equal(new[] { 0f, -1f, 100 / 32768f }, wav.Channel(0).ToArray());
        Assert.Equal(new[] { 0.5f, 32767 / 32768f, -100 / 32768f }, wav.Channel(1).ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Float32_and_24_bit_pcm_read_plain_and_extensible(bool extensible)
    {
        var f = new byte[12];
        BinaryPrimitives.WriteSingleLittleEndian(f, 0.25f);
        BinaryPrimitives.WriteSingleLittleEndian(f.AsSpan(4), -1.5f);
        BinaryPrimitives.WriteSingleLittleEndian(f.AsSpan(8), 3f);
        Assert.Equal(new[] { 0.25f, -1.5f, 3f }, WavReader.Read(Wav(3, 1, 8000, 32, f, extensible), "f.wav").Channel(0).ToArray());

        byte[] p24 = [0x00, 0x00, 0x40, 0x00, 0x00, 0x80]; // +0.5, -1.0
        Assert.Equal(new[] { 0.5f, -1f }, WavReader.Read(Wav(1, 1, 8000, 24, p24, extensible), "p.wav").Channel(0).ToArray());
    }

    [Fact]
    public void A_truncated_data_chunk_keeps_the_whole_frames_that_are_there()
    {
        var bytes = Wav(1, 2, 100, 16, new byte[4 * 10]);
        var cut = bytes[..^6]; // 8.5 frames remain
        Assert.Equal(8, WavReader.Read(cut, "cut.wav").Frames);
    }

    [Fact]
    public void Malformed_headers_say_what_is_wrong_and_name_the_file()
    {
        void Bad(byte[] file, string expected)
        {
            var e = Assert.Throws<InvalidDataException>(() => WavReader.Read(file, "x.wav"));
            Assert.Contains("x.wav", e.Message);
            Assert.Contains(expected, e.Message);
        }
        Bad(Encoding.ASCII.GetBytes("RIFX----WAVEfmt "), "not a WAV file");
        Bad([], "not a WAV file");
        var noFmt = Wav(1, 1, 8000, 16, new byte[4]);
        "junk"u8.CopyTo(noFmt.AsSpan(12, 4)); // the fmt chunk renamed: skipped as unknown
        Bad(noFmt, "has no fmt chunk");
        Bad(Wav(1, 1, 8000, 16, new byte[4])[..36], "has no data chunk");
        Bad(Wav(1, 1, 8000, 12, new byte[4]), "12 bits per sample is not supported");
        Bad(Wav(2, 1, 8000, 16, new byte[4]), "code 2");
        Bad(Wav(1, 2, 8000, 16, new byte[8], blockOverride: 3), "block align 3");
        var shortFmt = Wav(1, 1, 8000, 16, new byte[4]);
        BinaryPrimitives.WriteInt32LittleEndian(shortFmt.AsSpan(16), 12);
        Bad(shortFmt, "below the 16");
        var overrun = Wav(1, 1, 8000, 16, new byte[4], extraChunk: [1, 2]);
        BinaryPrimitives.WriteInt32LittleEndian(overrun.AsSpan(40), 1000); // LIST chunk claims 1000 bytes
        Bad(overrun, "chunk 'LIST' at byte 36 says 1000 bytes");
    }
}
