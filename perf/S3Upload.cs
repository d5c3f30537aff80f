using Amazon.S3;
using Amazon.S3.Model;

namespace Contrastive.Perf;

/// <summary>
/// `dotnet run -c Release --project perf -- s3-upload DIR s3://bucket/prefix`: uploads DIR's files (plain PUTs) with the
/// standard AWS environment, creating the bucket if needed; for measuring `contrastive bench --data s3://...`.
/// </summary>
public static class S3Upload
{
    public static async Task RunAsync(string dir, string target)
    {
        var (bucket, prefix) = Contrastive.Ingest.ObjectStore.Parse(target);
        string endpoint = Environment.GetEnvironmentVariable("AWS_ENDPOINT_URL_S3") ?? Environment.GetEnvironmentVariable("AWS_ENDPOINT_URL")
            ?? throw new InvalidOperationException("set AWS_ENDPOINT_URL_S3");
        using var client = new AmazonS3Client(new AmazonS3Config
        {
            ServiceURL = endpoint, ForcePathStyle = true, AuthenticationRegion = Environment.GetEnvironmentVariable("AWS_REGION") ?? "us-east-1",
            RequestChecksumCalculation = Amazon.Runtime.RequestChecksumCalculation.WHEN_REQUIRED,
        });
        try { await client.PutBucketAsync(bucket); } catch (AmazonS3Exception) { /* exists */ }
        foreach (var file in Directory.GetFiles(dir).Where(f => !Path.GetFileName(f).StartsWith('.')))
        {
            string key = prefix.TrimEnd('/') + "/" + Path.GetFileName(file);
            await client.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key.TrimStart('/'), FilePath = file, UseChunkEncoding = false });
            Console.WriteLine($"s3://{bucket}/{key.TrimStart('/')}");
        }
    }
}
