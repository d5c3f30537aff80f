// Marks one required symbol version of an ELF shared object as weak (VER_FLG_WEAK) so that the dynamic
// loader accepts the object on a host whose library lacks that version.
//
// Why: TorchSharp 0.107's libLibTorchSharp.so needs GLIBCXX_3.4.32 (GCC 13+ libstdc++) for one symbol,
// std::ios_base_library_init(), a link-time marker that nothing calls. Debian 12 and Ubuntu 22.04 ship
// libstdc++ up to GLIBCXX_3.4.30, so the library fails to load. With the version entry weak, glibc's
// loader only warns in debug mode and loads it.
//
// This file is compiled twice: by MSBuild's RoslynCodeTaskFactory as the PatchElfVersionNeed task (see
// build/TorchSharpNative.targets), and by the tests with ELF_PATCH_NO_MSBUILD defined (the pure logic).
// It must stay within netstandard2.0 APIs because the task factory compiles against them.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace Contrastive.Build
{
    /// <summary>Outcome of inspecting or patching one file.</summary>
    public enum ElfPatchResult
    {
        NotElf64LittleEndian,
        NoVersionNeedSection,
        VersionNotRequired,
        AlreadyWeak,
        Patched,
    }

    /// <summary>Reads and edits the GNU symbol-versioning sections of 64-bit little-endian ELF files.</summary>
    public static class ElfVersioning
    {
        public const uint ShtGnuVerdef = 0x6ffffffd;
        public const uint ShtGnuVerneed = 0x6ffffffe;
        public const ushort VerFlgWeak = 0x2;

        private struct Section
        {
            public uint Type;
            public long Offset;
            public long Size;
            public uint Link;
            public uint Info;
        }

        /// <summary>True when <paramref name="elf"/> starts with a 64-bit little-endian ELF header.</summary>
        public static bool IsElf64Le(byte[] elf)
        {
            return elf.Length >= 64 && elf[0] == 0x7f && elf[1] == (byte)'E' && elf[2] == (byte)'L' && elf[3] == (byte)'F'
                && elf[4] == 2 && elf[5] == 1;
        }

        /// <summary>The version names a shared library defines (its .gnu.version_d section).</summary>
        public static List<string> DefinedVersions(byte[] elf)
        {
            var names = new List<string>();
            if (!IsElf64Le(elf)) return names;
            foreach (var s in Sections(elf))
            {
                if (s.Type != ShtGnuVerdef) continue;
                var strtab = SectionAt(elf, (int)s.Link);
                long def = s.Offset;
                for (uint i = 0; i < s.Info; i++)
                {
                    ushort cnt = U16(elf, def + 6);
                    uint aux = U32(elf, def + 12);
                    uint next = U32(elf, def + 16);
                    long a = def + aux;
                    for (int j = 0; j < cnt; j++)
                    {
                        names.Add(CString(elf, strtab.Offset + U32(elf, a)));
                        uint anext = U32(elf, a + 4);
                        if (anext == 0) break;
                        a += anext;
                    }
                    if (next == 0) break;
                    def += next;
                }
            }
            return names;
        }

        /// <summary>
        /// Sets VER_FLG_WEAK on the requirement of <paramref name="version"/> from <paramref name="library"/>
        /// in the .gnu.version_r section, in place. Only that one entry's flags change.
        /// </summary>
        public static ElfPatchResult MarkVersionNeedWeak(byte[] elf, string library, string version, bool dryRun)
        {
            if (!IsElf64Le(elf)) return ElfPatchResult.NotElf64LittleEndian;
            bool anySection = false;
            foreach (var s in Sections(elf))
            {
                if (s.Type != ShtGnuVerneed) continue;
                anySection = true;
                var strtab = SectionAt(elf, (int)s.Link);
                long need = s.Offset;
                for (uint i = 0; i < s.Info; i++)
                {
                    ushort cnt = U16(elf, need + 2);
                    string file = CString(elf, strtab.Offset + U32(elf, need + 4));
                    uint aux = U32(elf, need + 8);
                    uint next = U32(elf, need + 12);
                    if (file == library)
                    {
                        long a = need + aux;
                        for (int j = 0; j < cnt; j++)
                        {
                            string name = CString(elf, strtab.Offset + U32(elf, a + 8));
                            if (name == version)
                            {
                                ushort flags = U16(elf, a + 4);
                                if ((flags & VerFlgWeak) != 0) return ElfPatchResult.AlreadyWeak;
                                if (!dryRun) W16(elf, a + 4, (ushort)(flags | VerFlgWeak));
                                return ElfPatchResult.Patched;
                            }
                            uint anext = U32(elf, a + 12);
                            if (anext == 0) break;
                            a += anext;
                        }
                    }
                    if (next == 0) break;
                    need += next;
                }
            }
            return anySection ? ElfPatchResult.VersionNotRequired : ElfPatchResult.NoVersionNeedSection;
        }

        private static IEnumerable<Section> Sections(byte[] elf)
        {
            long shoff = (long)U64(elf, 0x28);
            ushort shentsize = U16(elf, 0x3A);
            ushort shnum = U16(elf, 0x3C);
            if (shoff <= 0 || shentsize < 64 || shoff + (long)shentsize * shnum > elf.Length) yield break;
            for (int i = 0; i < shnum; i++) yield return ReadSection(elf, shoff + (long)i * shentsize);
        }

        private static Section SectionAt(byte[] elf, int index)
        {
            long shoff = (long)U64(elf, 0x28);
            ushort shentsize = U16(elf, 0x3A);
            ushort shnum = U16(elf, 0x3C);
            if (index < 0 || index >= shnum) throw new InvalidDataException("ELF section link " + index + " is out of range.");
            return ReadSection(elf, shoff + (long)index * shentsize);
        }

        private static Section ReadSection(byte[] elf, long at)
        {
            var s = new Section
            {
                Type = U32(elf, at + 4),
                Offset = (long)U64(elf, at + 24),
                Size = (long)U64(elf, at + 32),
                Link = U32(elf, at + 40),
                Info = U32(elf, at + 44),
            };
            if (s.Type != 8 /* SHT_NOBITS */ && (s.Offset < 0 || s.Offset + s.Size > elf.Length))
                throw new InvalidDataException("ELF section at header offset " + at + " points outside the file.");
            return s;
        }

        private static void Check(byte[] b, long at, int n)
        {
            if (at < 0 || at + n > b.Length) throw new InvalidDataException("ELF structure points outside the file (offset " + at + ").");
        }

        private static ushort U16(byte[] b, long at) { Check(b, at, 2); return (ushort)(b[at] | b[at + 1] << 8); }
        private static uint U32(byte[] b, long at) { Check(b, at, 4); return (uint)(b[at] | b[at + 1] << 8 | b[at + 2] << 16 | b[at + 3] << 24); }
        private static ulong U64(byte[] b, long at) { return U32(b, at) | (ulong)U32(b, at + 4) << 32; }
        private static void W16(byte[] b, long at, ushort v) { Check(b, at, 2); b[at] = (byte)v; b[at + 1] = (byte)(v >> 8); }

        private static string CString(byte[] b, long at)
        {
            Check(b, at, 1);
            long end = at;
            while (end < b.Length && b[end] != 0) end++;
            return Encoding.ASCII.GetString(b, (int)at, (int)(end - at));
        }

        /// <summary>Where the dynamic loader would usually find libstdc++.so.6 on this host (first match).</summary>
        public static string? FindHostLibStdCxx()
        {
            var dirs = new List<string>();
            var ld = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH");
            if (!string.IsNullOrEmpty(ld)) dirs.AddRange(ld!.Split(new[] { ':' }, StringSplitOptions.RemoveEmptyEntries));
            dirs.AddRange(new[]
            {
                "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib/aarch64-linux-gnu",
                "/usr/lib64", "/lib64", "/usr/lib", "/lib",
            });
            foreach (var d in dirs)
            {
                var p = Path.Combine(d, "libstdc++.so.6");
                if (File.Exists(p)) return p;
            }
            return null;
        }

        /// <summary>
        /// Patches <paramref name="path"/> when it requires <paramref name="version"/> of <paramref name="library"/>
        /// and the host library does not define it. The file is rewritten through a temporary file and a rename,
        /// so a hard link to it elsewhere (a package cache) is never modified.
        /// </summary>
        public static ElfPatchResult PatchFileIfHostLacks(string path, string library, string version, string? hostLibrary, out string detail)
        {
            var elf = File.ReadAllBytes(path);
            var probe = MarkVersionNeedWeak(elf, library, version, dryRun: true);
            if (probe != ElfPatchResult.Patched) { detail = probe.ToString(); return probe; }
            if (hostLibrary != null && File.Exists(hostLibrary))
            {
                var defined = DefinedVersions(File.ReadAllBytes(hostLibrary));
                if (defined.Contains(version))
                {
                    detail = hostLibrary + " defines " + version + "; no patch needed";
                    return ElfPatchResult.VersionNotRequired;
                }
                detail = hostLibrary + " lacks " + version;
            }
            else
            {
                detail = "no " + library + " found on this host";
            }
            MarkVersionNeedWeak(elf, library, version, dryRun: false);
            var tmp = path + ".patch-" + Guid.NewGuid().ToString("N") + ".tmp";
            File.WriteAllBytes(tmp, elf);
            File.Delete(path);
            File.Move(tmp, path);
            return ElfPatchResult.Patched;
        }
    }

#if !ELF_PATCH_NO_MSBUILD
    /// <summary>MSBuild task: patches the output copies of TorchSharp's native library (never the NuGet cache).</summary>
    public class PatchElfVersionNeed : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = new Microsoft.Build.Framework.ITaskItem[0];

        [Microsoft.Build.Framework.Required]
        public string Library { get; set; } = "";

        [Microsoft.Build.Framework.Required]
        public string Version { get; set; } = "";

        public string PackageRoot { get; set; } = "";

        public override bool Execute()
        {
            string? host = ElfVersioning.FindHostLibStdCxx();
            foreach (var item in Files)
            {
                string path = Path.GetFullPath(item.ItemSpec);
                if (!File.Exists(path)) continue;
                if (!string.IsNullOrEmpty(PackageRoot) && path.StartsWith(Path.GetFullPath(PackageRoot), StringComparison.Ordinal))
                {
                    Log.LogError("Refusing to patch {0}: it is inside the NuGet package folder {1}.", path, PackageRoot);
                    return false;
                }
                try
                {
                    var result = ElfVersioning.PatchFileIfHostLacks(path, Library, Version, host, out string detail);
                    var importance = result == ElfPatchResult.Patched ? Microsoft.Build.Framework.MessageImportance.High : Microsoft.Build.Framework.MessageImportance.Low;
                    Log.LogMessage(importance, "TorchSharp native fix: {0}: {1} ({2}).", path, result, detail);
                }
                catch (Exception e)
                {
                    Log.LogError("TorchSharp native fix failed for {0}: {1}", path, e.Message);
                    return false;
                }
            }
            return !Log.HasLoggedErrors;
        }
    }
#endif
}
