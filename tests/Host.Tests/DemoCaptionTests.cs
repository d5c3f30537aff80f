using Contrastive.Ingest;
using SkiaSharp;

namespace Contrastive.Host.Tests;

/// <summary>`demo-data --kind captions`: captioned shapes in Hugging Face-schema Parquet with a text column.</summary>
public sealed class DemoCaptionTests() : TempFolderTest("demo-captions")
{
    [Fact]
    public async Task Captioned_demo_data_has_images_labels_and_varied_captions_that_describe_what_is_drawn()
    {
        string data = Path.Combine(Folder, "captions");
        var (code, stdout, err) = await CliRunner.Run("demo-data", "--kind", "captions", "--output", data, "--count", "210", "--seed", "3");
        Assert.True(code == 0, err);
        Assert.Contains("210 captioned images", stdout);

        var ds = await ImageDataset.OpenAsync(data);
        Assert.Equal("parquet", ds.Format);
        Assert.True(ds.HasCaptions);
        Assert.True(ds.HasLabels);
        Assert.Equal("text", ds.Columns["text"]);

        var captions = new List<string>();
        var labels = new HashSet<long>();
        int checkedColours = 0;
        await foreach (var c in ds.ReadAsync(new ReadPlan(0, 0, false, HoldoutSplit.None) { Captions = true }))
        {
            using (c)
            {
                Assert.Null(c.Problems);
                for (int i = 0; i < c.Count; i++)
                {
                    string caption = CaptionText.Of(c, i)!;
                    long label = c.Labels[i];
                    labels.Add(label);
                    captions.Add(caption);
                    var attributes = DemoCaptionGenerator.AttributesOf(3, c.Indices[i]);
                    string lower = caption.ToLowerInvariant();
                    Assert.Contains(DemoCaptionGenerator.Shapes[label], lower);
                    Assert.Contains(DemoCaptionGenerator.Colours[attributes.Colour].Name, lower);
                    Assert.Contains(DemoCaptionGenerator.Positions[attributes.Position], lower);
                    Assert.Contains(DemoCaptionGenerator.SizeWords[attributes.Size], w => lower.Contains(w));
                    // Never a bare prompt: zero-shot templates must be new to the model.
                    Assert.NotEqual($"a photo of a {DemoCaptionGenerator.Shapes[label]}.", lower);
                    Assert.NotEqual(DemoCaptionGenerator.Shapes[label], lower);
                    Assert.DoesNotMatch(@"\ba [aeiou]", lower); // "an orange", not "a orange"

                    // The drawn colour is the named one: the pixel at the grid point lies inside circles, squares, triangles and hexagons.
                    using var bitmap = SKBitmap.Decode(c.Images[i].ToArray());
                    Assert.NotNull(bitmap);
                    Assert.Equal(96, bitmap.Width);
                    if (label is 0 or 1 or 2 or 6)
                    {
                        int x = (int)(96 * (0.22 + 0.28 * (attributes.Position % 3))), y = (int)(96 * (0.22 + 0.28 * (attributes.Position / 3)));
                        bitmap.GetPixel(x, y).ToHsv(out float hue, out float saturation, out _);
                        double named = DemoCaptionGenerator.Colours[attributes.Colour].Hue;
                        double distance = Math.Abs(((hue - named) % 360 + 540) % 360 - 180);
                        Assert.True(distance < 30 && saturation > 40, $"image {c.Indices[i]}: hue {hue}, saturation {saturation}; caption '{caption}'");
                        checkedColours++;
                    }
                }
            }
        }
        Assert.Equal(210, captions.Count);
        Assert.Equal(7, labels.Count);
        Assert.True(captions.Distinct().Count() > 180, $"{captions.Distinct().Count()} distinct captions of 210");
        // Several templates: the first words vary.
        Assert.True(captions.Select(s => s.Split(' ')[0]).Distinct().Count() >= 4);
        Assert.True(checkedColours > 80);

        // The same seed writes the same captions.
        Assert.Equal(DemoCaptionGenerator.Caption(3, 17), captions[17]);
    }

    [Fact]
    public async Task Captioned_demo_data_refuses_the_folder_layout_naming_the_option()
    {
        var (code, _, err) = await CliRunner.Run("demo-data", "--kind", "captions", "--layout", "folder", "--output", Path.Combine(Folder, "x"), "--count", "10");
        Assert.NotEqual(0, code);
        Assert.StartsWith("error: --layout: captioned demo data is written as Parquet only", err.Trim());
    }
}
