using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Amazon.S3;
using Amazon.S3.Model;

namespace Contrastive.Ingest.Tests;

/// <summary>
/// A real S3-protocol server (s3rver, from npm, in tests/tools) on a free loopback port in a temporary directory,
/// with the standard AWS environment pointed at it. Installs the tools on first use. Stoppable mid-test for faults.
/// </summary>
public sealed class S3Server : IDisposable
{
    private Process? _process;

    public S3Server()
    {
        Tools = ToolsDir();
        DuckDbShards.EnsureToolsInstalled(Tools);
        Port = FreePort();
        Environment.SetEnvironmentVariable("AWS_ENDPOINT_URL_S3", $"http://127.0.0.1:{Port}");
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", "S3RVER");
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "S3RVER");
        Environment.SetEnvironmentVariable("AWS_REGION", "us-east-1");
        Start();
        Client = new AmazonS3Client("S3RVER", "S3RVER", new AmazonS3Config
        {
            ServiceURL = $"http://127.0.0.1:{Port}", ForcePathStyle = true, AuthenticationRegion = "us-east-1",
            RequestChecksumCalculation = Amazon.Runtime.RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = Amazon.Runtime.ResponseChecksumValidation.WHEN_REQUIRED,
        });
    }

    public string Tools { get; }

    public int Port { get; }

    public string Data { get; } = Path.Combine(Path.GetTempPath(), "s3rver-" + Guid.NewGuid().ToString("N"));

    public AmazonS3Client Client { get; }

    public void Start()
    {
        Directory.CreateDirectory(Data);
        var psi = new ProcessStartInfo("node") { WorkingDirectory = Tools, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine("node_modules", "s3rver", "bin", "s3rver.js"), "--directory", Data, "--port", Port.ToString(), "--address", "127.0.0.1", "--silent" })
            psi.ArgumentList.Add(a);
        _process = Process.Start(psi) ?? throw new InvalidOperationException("could not start s3rver");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                using var tcp = new TcpClient();
                tcp.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                Thread.Sleep(100);
            }
            catch (SocketException e)
            {
                throw new InvalidOperationException($"s3rver did not start on port {Port} (exited: {_process.HasExited})", e);
            }
        }
    }

    /// <summary>Stops the server (the fault tests read on into a dead endpoint).</summary>
    public void Stop()
    {
        if (_process is { HasExited: false }) { _process.Kill(entireProcessTree: true); _process.WaitForExit(); }
    }

    public async Task PutAsync(string bucket, string key, string file)
    {
        try { await Client.PutBucketAsync(bucket); } catch (AmazonS3Exception e) when (e.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists") { }
        // Plain (not aws-chunked) uploads: s3rver stores a chunked body verbatim.
        await Client.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, FilePath = file, UseChunkEncoding = false });
    }

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    private static string ToolsDir()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Contrastive.Pipeline.sln"))) return Path.Combine(d.FullName, "tests", "tools");
        throw new InvalidOperationException("repository root not found");
    }

    public void Dispose()
    {
        Stop();
        Client.Dispose();
        try { Directory.Delete(Data, true); } catch (IOException) { }
    }
}
