using Contrastive.Host.Serve;

namespace Contrastive.Host.Tests;

/// <summary>The service's rules in-process: where job data may be, which binds need a key, the key file, ids, the log tail.</summary>
public sealed class ServeRulesTests() : TempFolderTest("serverules")
{
    private static readonly CommandConfiguration Config = Settings.Build(new Dictionary<string, string?>());

    [Fact]
    public void Data_must_lie_inside_a_root_not_beside_it_and_buckets_match_by_whole_segments()
    {
        string root = Path.Combine(Folder, "data");
        string[] roots = [root, "s3://bucket/sets"];
        Assert.Equal(Path.Combine(root, "a", "b"), JobSpec.CheckData("a/b", roots));
        Assert.Equal(Path.Combine(root, "x"), JobSpec.CheckData(Path.Combine(root, "x"), roots));
        Assert.Equal(root + "/", JobSpec.CheckData(root + "/", roots)); // the root itself
        Assert.Equal("s3://bucket/sets/imagenet/", JobSpec.CheckData("s3://bucket/sets/imagenet/", roots));

        void Refused(string data, string text) => Assert.Contains(text, Assert.Throws<JobSpecException>(() => JobSpec.CheckData(data, roots)).Message);
        Refused(root + "2/x", "is outside the data roots");          // a sibling whose name starts like the root
        Refused("s3://bucket/sets2/x", "outside the configured buckets");
        Refused("s3://other/sets/x", "outside the configured buckets");
        Refused("a/../../etc", "contains '..'");
        Refused("s3://bucket/sets/../private", "contains '..'");
        Refused("/etc/passwd", "is outside the data roots");
        Refused("http://host/x", "neither a local path nor an s3:// URI");
        Refused(" ", "is required");
        Assert.Contains("no data roots are configured", Assert.Throws<JobSpecException>(() => JobSpec.CheckData("x", [])).Message);
    }

    [Fact]
    public void Data_as_a_list_is_weighted_sources_each_checked_against_the_roots_and_a_refusal_names_its_entry()
    {
        string root = Path.Combine(Folder, "data");
        Directory.CreateDirectory(Path.Combine(root, "a"));
        Directory.CreateDirectory(Path.Combine(root, "x:2")); // a name that ends like a weight: the object form reads it whole
        string[] roots = [root, "s3://bucket/sets"];

        var (o, given) = JobSpec.Parse("""{"data":["a:0.7","s3://bucket/sets/b/:0.3"]}""", roots);
        Assert.False(o.ContainsKey("Data:Uri"));
        Assert.Equal(Path.Combine(root, "a"), o["Data:Sources:0:Uri"]);
        Assert.Equal("0.7", o["Data:Sources:0:Weight"]);
        Assert.Equal("s3://bucket/sets/b/", o["Data:Sources:1:Uri"]);
        Assert.Equal("0.3", o["Data:Sources:1:Weight"]);
        Assert.Equal("data", given["Data:Sources:1:Uri"]);
        Assert.Equal([Path.Combine(root, "a"), "s3://bucket/sets/b/"], JobSpec.Locations(o));
        o["Training:Out"] = Path.Combine(Folder, "out");
        var data = TrainSettings.Bind(Settings.Build(o, given)).Data;
        Assert.Equal("", data.Uri);
        Assert.Equal([(Path.Combine(root, "a"), 0.7), ("s3://bucket/sets/b/", 0.3)], data.Sources.Select(x => (x.Uri, x.Weight)));

        (o, _) = JobSpec.Parse("""{"data":[{"uri":"x:2","weight":3},{"uri":"a"}]}""", roots);
        Assert.Equal(Path.Combine(root, "x:2"), o["Data:Sources:0:Uri"]);
        Assert.Equal("3", o["Data:Sources:0:Weight"]);
        Assert.Equal("1", o["Data:Sources:1:Weight"]);
        JobSpec.CheckExists(o);
        Assert.Equal("x:2:3, a", JobSpec.DataText("""{"data":[{"uri":"x:2","weight":3},{"uri":"a"}]}"""));
        Assert.Equal("a:0.7, s3://bucket/sets/b/:0.3", JobSpec.DataText("""{"data":["a:0.7","s3://bucket/sets/b/:0.3"]}"""));

        (o, _) = JobSpec.Parse("""{"data":["a"]}""", roots); // one entry: one location
        Assert.Equal(Path.Combine(root, "a"), o["Data:Uri"]);
        Assert.False(o.ContainsKey("Data:Sources:0:Uri"));

        void Refused(string spec, string text)
        {
            var e = Assert.Throws<JobSpecException>(() => JobSpec.CheckExists(JobSpec.Parse(spec, roots).Overrides));
            Assert.Equal("data", e.Setting);
            Assert.Equal(text, e.Message);
        }
        Refused("""{"data":["a:0.5","/etc:0.5"]}""", $"data[1]: '/etc' is outside the data roots ({root}, s3://bucket/sets)");
        Refused("""{"data":["a:0.5","s3://other/x:0.5"]}""", $"data[1]: 's3://other/x' is outside the configured buckets and data roots ({root}, s3://bucket/sets)");
        Refused("""{"data":["a:0.5","a/../../x:0.5"]}""", $"data[1]: 'a/../../x' contains '..'; give a path inside a data root ({root}, s3://bucket/sets)");
        Refused("""{"data":["a:0.5","nothere:0.5"]}""", $"data[1]: '{Path.Combine(root, "nothere")}' does not exist");
        Refused("""{"data":["a:0","b:1"]}""", "data[0] 'a:0': the weight after the last ':' is 0; a weight is a positive number.");
        Refused("""{"data":[{"uri":"a","weight":-1},"b"]}""", "data[0]: weight -1; a weight is a positive number");
        Refused("""{"data":[{"uri":"a","w":1},"b"]}""", "data[0].w: not a field of a weighted source (uri, weight)");
        Refused("""{"data":[{"uri":"a","weight":"1"},"b"]}""", "data[0].weight: must be a number, not string");
        Refused("""{"data":[{"weight":1},"b"]}""", "data[0]: has no uri");
        Refused("""{"data":["a",7]}""", "data[1]: a weighted source is \"LOCATION:WEIGHT\" or {\"uri\": …, \"weight\": …}, not number");
        Refused("""{"data":[]}""", "data: an empty list; give a location, or weighted sources such as [\"a:0.7\", \"s3://bucket/b/:0.3\"]");
        Refused("""{"data":{"uri":"a"}}""", "data: must be a string, number or true/false, not object");
    }

    [Fact]
    public void Job_limits_are_checked_together_on_the_bound_settings_and_name_the_field()
    {
        static TrainSettings Spec(params (string Key, string Value)[] keys) =>
            TrainSettings.Bind(Settings.Build(keys.ToDictionary(k => k.Key, k => (string?)k.Value)));
        var limits = new ServeLimits { MaxBatchSize = 512, MaxImageSize = 256, MaxBatchMemoryMb = 100, MaxWorkers = 4, MaxThreads = 8, MaxMinutes = 60 };
        var fine = Spec(("Batching:BatchSize", "128"), ("Augment:Size", "32"), ("Batching:Workers", "2"), ("Training:MaxMinutes", "30"));
        Assert.Null(limits.Check(fine));
        Assert.Equal("batch_size", limits.Check(Spec(("Batching:BatchSize", "1024"), ("Training:MaxMinutes", "1")))!.Value.Field);
        Assert.Contains("Serve:Limits:MaxImageSize", limits.Check(Spec(("Augment:Size", "512"), ("Training:MaxMinutes", "1")))!.Value.Message);
        Assert.Equal("workers", limits.Check(Spec(("Batching:Workers", "16"), ("Training:MaxMinutes", "1")))!.Value.Field);
        Assert.Equal("threads", limits.Check(Spec(("Training:Threads", "32"), ("Training:MaxMinutes", "1")))!.Value.Field);
        Assert.Equal("max_minutes", limits.Check(Spec(("Training:MaxMinutes", "0")))!.Value.Field); // no limit asked, one set
        Assert.Equal("max_minutes", limits.Check(Spec(("Training:MaxMinutes", "90")))!.Value.Field);
        // 512 samples × 2 views × 3×224×224 bytes × (2 + 2 + 2) buffers = 882 MB: each field within its own bound, together over.
        var together = limits.Check(Spec(("Batching:BatchSize", "512"), ("Augment:Size", "224"), ("Batching:Workers", "2"), ("Training:MaxMinutes", "1")));
        Assert.Equal("batch_size", together!.Value.Field);
        Assert.Contains("512 × 2 views × 3×224×224 bytes × 6 buffers is 882 MB of pinned batch memory, over this server's limit of 100 MB", together.Value.Message);
        Assert.Null(new ServeLimits().Check(Spec(("Batching:BatchSize", "512"), ("Augment:Size", "224"))));
    }

    [Fact]
    public void A_symbolic_link_out_of_a_data_root_is_refused_and_one_that_stays_inside_is_followed()
    {
        string root = Path.Combine(Folder, "links-root"), elsewhere = Path.Combine(Folder, "elsewhere");
        Directory.CreateDirectory(Path.Combine(root, "sets", "a"));
        Directory.CreateDirectory(Path.Combine(elsewhere, "shards"));
        Directory.CreateSymbolicLink(Path.Combine(root, "escape"), elsewhere);                        // absolute target, outside
        Directory.CreateSymbolicLink(Path.Combine(root, "up"), "..");                                  // relative target, outside
        Directory.CreateSymbolicLink(Path.Combine(root, "inside"), Path.Combine(root, "sets"));        // stays inside
        Directory.CreateSymbolicLink(Path.Combine(root, "sets", "loop"), Path.Combine(root, "sets", "loop2"));
        Directory.CreateSymbolicLink(Path.Combine(root, "sets", "loop2"), Path.Combine(root, "sets", "loop"));
        string[] roots = [root];
        var e = Assert.Throws<JobSpecException>(() => JobSpec.CheckData("escape/shards", roots));
        Assert.Equal("data", e.Setting);
        Assert.Contains($"leads to '{Path.Combine(elsewhere, "shards")}' through a symbolic link, outside the data roots", e.Message);
        Assert.Throws<JobSpecException>(() => JobSpec.CheckData(Path.Combine(root, "escape"), roots));
        Assert.Contains("outside the data roots", Assert.Throws<JobSpecException>(() => JobSpec.CheckData("up/elsewhere/shards", roots)).Message);
        Assert.Equal(Path.Combine(root, "inside", "a"), JobSpec.CheckData("inside/a", roots));        // the path as given, once checked
        Assert.Contains("too many symbolic links", Assert.Throws<JobSpecException>(() => JobSpec.CheckData("sets/loop/x", roots)).Message);
        // A root reached through a link is compared by its real path too.
        string linkedRoot = Path.Combine(Folder, "root-link");
        Directory.CreateSymbolicLink(linkedRoot, root);
        Assert.Equal(Path.Combine(linkedRoot, "sets", "a"), JobSpec.CheckData(Path.Combine(linkedRoot, "sets", "a"), [linkedRoot]));
        Assert.Equal(Path.Combine(root, "sets", "a"), JobSpec.CheckData(Path.Combine(root, "sets", "a"), [linkedRoot]));
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080")]
    [InlineData("http://localhost:8080")]
    [InlineData("http://[::1]:8080")]
    [InlineData("http://127.0.0.2:8080;http://[::1]:9090")]
    public void Loopback_binds_need_no_key(string urls) => Assert.NotEmpty(ServeApp.CheckUrls(urls, haveKey: false, Config));

    [Theory]
    [InlineData("http://0.0.0.0:8080")]
    [InlineData("http://*:8080")]
    [InlineData("http://+:8080")]
    [InlineData("http://[::]:8080")]
    [InlineData("http://192.168.1.5:8080")]
    [InlineData("http://myhost:8080")]
    [InlineData("http://127.0.0.1:8080;http://0.0.0.0:9090")]
    public void Other_binds_need_a_key(string urls)
    {
        Assert.Contains("binds a non-loopback address, which needs an API key", Assert.Throws<UsageException>(() => ServeApp.CheckUrls(urls, false, Config)).Message);
        Assert.NotEmpty(ServeApp.CheckUrls(urls, haveKey: true, Config));
    }

    [Fact]
    public void A_key_file_must_hold_one_word_of_16_characters_or_more()
    {
        string file = Path.Combine(Folder, "key");
        File.WriteAllText(file, "  0123456789abcdef0123\n");
        Assert.Equal("0123456789abcdef0123", ServeApp.ReadKey(new ServeOptions { ApiKeyFile = file }, Config));
        File.WriteAllText(file, "short");
        Assert.Contains("at least 16 characters", Assert.Throws<UsageException>(() => ServeApp.ReadKey(new ServeOptions { ApiKeyFile = file }, Config)).Message);
        File.WriteAllText(file, "0123456789abcdef 0123456789abcdef");
        Assert.Contains("one word", Assert.Throws<UsageException>(() => ServeApp.ReadKey(new ServeOptions { ApiKeyFile = file }, Config)).Message);
        Assert.Contains("cannot be read", Assert.Throws<UsageException>(() => ServeApp.ReadKey(new ServeOptions { ApiKeyFile = file + ".missing" }, Config)).Message);
        Assert.Null(ServeApp.ReadKey(new ServeOptions(), Config));
    }

    [Fact]
    public void Tenant_keys_are_read_line_by_line_with_quotas_and_a_bad_line_is_named_without_its_key()
    {
        string file = Path.Combine(Folder, "keys");
        const string alice = "alice-key-0123456789", bob = "bob-key-0123456789ab", admin = "admin-key-0123456789";
        File.WriteAllText(file, $"# tenants\n{alice} alice 2 4\n\n  {bob}   bob\n");
        var keys = ApiKeys.Load(admin, file, "--api-keys-file");
        Assert.Equal(2, keys.Tenants);
        Assert.Equal(new Caller("alice", 2, 4), keys.Find(alice));
        Assert.Equal(new Caller("bob"), keys.Find(bob));
        Assert.True(keys.Find(admin)!.IsAdmin);
        Assert.Null(keys.Find(alice + "x"));
        Assert.False(ApiKeys.Load(null, null, "--api-keys-file").Any);

        void Refused(string content, string text)
        {
            File.WriteAllText(file, content);
            string message = Assert.Throws<UsageException>(() => ApiKeys.Load(admin, file, "--api-keys-file")).Message;
            Assert.Contains(text, message);
            Assert.DoesNotContain("key-0123", message); // a key never appears in a message
        }
        Refused($"{alice} alice\n{alice} bob\n", "line 2: this key is already given");
        Refused($"{admin} alice\n", "line 1: this key is already given");
        Refused("short alice\n", "line 1: the key must be at least 16 characters");
        Refused($"{alice}\n", "expected KEY TENANT [max_jobs] [max_processes]");
        Refused($"{alice} Alice!\n", "tenant 'Alice!' must be lower-case");
        Refused($"{alice} alice 0\n", "max_jobs '0' must be a whole number from 1");
        Refused($"{alice} alice 1 x\n", "max_processes 'x' must be a whole number from 1");
        Assert.Contains("cannot be read", Assert.Throws<UsageException>(() => ApiKeys.Load(null, file + ".missing", "--api-keys-file")).Message);

        var serve = new ServeOptions { DataRoots = [Path.Combine(Folder, "data"), "s3://bucket/sets/"] };
        Assert.Equal([Path.Combine(Folder, "data", "alice"), "s3://bucket/sets/alice"], serve.RootsFor("alice"));
        Assert.Equal(serve.DataRoots, serve.RootsFor(null));
    }

    [Fact]
    public void Ids_are_made_by_the_server_and_only_their_form_names_a_folder()
    {
        var ids = Enumerable.Range(0, 50).Select(_ => JobStore.NewId()).ToList();
        Assert.Equal(50, ids.Distinct().Count());
        Assert.All(ids, id => Assert.True(JobStore.IsWellFormed(id), id));
        foreach (var bad in new[] { "", "../x", "a/b", "J1", "x.y", new string('a', 41) })
        {
            Assert.False(JobStore.IsWellFormed(bad), bad);
            Assert.Throws<ArgumentException>(() => new ServeState(Folder).JobFolder(bad));
        }
    }

    [Fact]
    public void The_log_tail_is_the_last_lines_also_of_a_file_longer_than_it_reads()
    {
        string log = Path.Combine(Folder, "job.log");
        File.WriteAllLines(log, Enumerable.Range(1, 30_000).Select(i => $"line {i} " + new string('x', 60)));
        var tail = JobLog.Tail(log, 3).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["line 29998 ", "line 29999 ", "line 30000 "], tail.Select(l => l[..(l.IndexOf(' ', 5) + 1)]));
        var many = JobLog.Tail(log, 100_000).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(many, l => Assert.StartsWith("line ", l)); // no line cut where the read began
        Assert.Equal("", JobLog.Tail(Path.Combine(Folder, "none.log"), 5));
    }
}

/// <summary>The job database on its own: the order jobs are taken in, restarts, cancels, and what a dead service left.</summary>
public sealed class JobStoreTests() : TempFolderTest("jobstore")
{
    [Fact]
    public void Interrupted_jobs_go_first_jobs_fit_the_free_slots_and_running_ones_are_listed_for_re_attachment()
    {
        string db = Path.Combine(Folder, "jobs.db");
        string a, b, c, d;
        using (var store = new JobStore(db))
        {
            a = store.Add("""{"data":"a"}""").Id;
            b = store.Add("""{"data":"b"}""").Id;
            c = store.Add("""{"data":"c"}""").Id;
            d = store.Add("""{"data":"d"}""").Id;
            Assert.Equal(a, store.TakeNext([])!.Id);           // oldest queued first
            Assert.Equal(b, store.TakeNext([a])!.Id);
            Assert.Equal(false, store.RequestCancel(b));       // running: flagged for its runner
            store.SetState(a, JobStates.Interrupted);
            Assert.Equal(true, store.RequestCancel(d));        // queued: cancelled at once
            Assert.Null(store.RequestCancel(d));               // already ended
        }
        using (var store = new JobStore(db))                   // the service died with b running
        {
            Assert.Equal([b], store.Running().Select(j => j.Id)); // left running: the runner re-attaches to it
            store.SetState(b, JobStates.Cancelled);
            var next = store.TakeNext([])!;
            Assert.Equal(a, next.Id);                          // interrupted before queued
            Assert.Equal(1, next.Restarts);
            Assert.Equal(JobStates.Running, next.State);
            Assert.Equal(c, store.TakeNext([a])!.Id);
            Assert.Equal(0, store.Get(c)!.Restarts);
            Assert.Null(store.TakeNext([a, c]));
            Assert.Equal([a, c], store.Running().Select(j => j.Id));
            string big = store.Add("{\"data\":\"e\"}", processes: 3).Id, small = store.Add("{\"data\":\"f\"}").Id;
            Assert.Equal(small, store.TakeNext([a, c], freeSlots: 2)!.Id); // the 3-process job waits for slots; a smaller one passes
            Assert.Null(store.TakeNext([a, c, small], freeSlots: 2));
            Assert.Equal(big, store.TakeNext([a, c, small], freeSlots: 3)!.Id);
            store.SetExternal(big, "local", "4242");
            Assert.Equal(("local", "4242", 3), (store.Get(big)!.Executor, store.Get(big)!.ExternalId, store.Get(big)!.Processes));
            Assert.Equal([small, big, d, c, b, a], store.List().Select(j => j.Id));
        }
    }
}
