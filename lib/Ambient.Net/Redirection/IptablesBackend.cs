using System.Net.Sockets;
using System.Text;
using Ambient.Net.Redirection.Internal;

namespace Ambient.Net.Redirection;

/// <summary>
/// The default <see cref="IRedirectionBackend"/>: <c>iptables-restore --noflush</c> (iptables-nft on Debian 12)
/// and <c>ip rule</c>/<c>ip route</c>, each run through <c>nsenter --net=PATH</c> so no agent thread changes
/// namespace. Every change to a table is one iptables-restore transaction, so a pod never sees a half-built chain.
/// <para>Apply: netlink state first (route, then rule), then iptables. If inspection says the iptables part is
/// already complete nothing is rewritten; otherwise one transaction drops any stale jumps, flushes or creates
/// our chains, refills them and re-adds the jumps.</para>
/// </summary>
public sealed class IptablesBackend : IRedirectionBackend
{
    private readonly string _nsenter;

    public IptablesBackend(string nsenter = "nsenter") => _nsenter = nsenter;

    public string Name => "iptables";

    public async Task ApplyAsync(string netnsPath, InPodRuleOptions options, CancellationToken cancellationToken)
    {
        foreach (var family in Families(options))
        {
            await ApplyNetlinkAsync(netnsPath, family, cancellationToken).ConfigureAwait(false);
            var save = await SaveAsync(netnsPath, family, cancellationToken).ConfigureAwait(false);
            var rules = InPodRules.Rules(options, family);
            var inspection = new List<string>();
            var missing = new List<string>();
            var unexpected = new List<string>();
            CompareIptables(save, rules, inspection, missing, unexpected);
            if (missing.Count == 0 && unexpected.Count == 0)
            {
                continue;
            }
            string script = RepairScript(save, rules);
            await RunInAsync(netnsPath, [Restore(family), "--noflush"], script, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<RedirectionInspection> InspectAsync(string netnsPath, InPodRuleOptions options, CancellationToken cancellationToken)
    {
        var present = new List<string>();
        var missing = new List<string>();
        var unexpected = new List<string>();
        foreach (var family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
        {
            bool wanted = family == AddressFamily.InterNetwork || options.Ipv6;
            if (!wanted && !await Ip6ToolsUsableAsync(netnsPath, cancellationToken).ConfigureAwait(false))
            {
                continue;
            }
            var save = await SaveAsync(netnsPath, family, cancellationToken).ConfigureAwait(false);
            string tag = family == AddressFamily.InterNetworkV6 ? "ip6 " : "";
            var p = new List<string>();
            var m = new List<string>();
            var u = new List<string>();
            CompareIptables(save, wanted ? InPodRules.Rules(options, family) : [], p, m, u);
            bool ruleThere = await HasIpRuleAsync(netnsPath, family, cancellationToken).ConfigureAwait(false);
            bool routeThere = await HasRouteAsync(netnsPath, family, cancellationToken).ConfigureAwait(false);
            (ruleThere ? p : wanted ? m : null)?.Add("ip rule " + string.Join(' ', InPodRules.IpRuleArgs));
            (routeThere ? p : wanted ? m : null)?.Add("ip route " + string.Join(' ', InPodRules.IpRouteArgs(family)));
            if (!wanted)
            {
                // Anything of ours in a family we do not program is a leftover.
                u.AddRange(p);
                p.Clear();
            }
            present.AddRange(p.Select(x => tag + x));
            missing.AddRange(m.Select(x => tag + x));
            unexpected.AddRange(u.Select(x => tag + x));
        }
        return new RedirectionInspection(present, missing, unexpected);
    }

    public async Task RemoveAsync(string netnsPath, CancellationToken cancellationToken)
    {
        foreach (var family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
        {
            if (family == AddressFamily.InterNetworkV6 && !await Ip6ToolsUsableAsync(netnsPath, cancellationToken).ConfigureAwait(false))
            {
                continue;
            }
            // iptables first, then netlink: the reverse of apply.
            var save = await SaveAsync(netnsPath, family, cancellationToken).ConfigureAwait(false);
            string script = RemoveScript(save);
            if (script.Length > 0)
            {
                await RunInAsync(netnsPath, [Restore(family), "--noflush"], script, cancellationToken).ConfigureAwait(false);
            }
            string fam = FamilyFlag(family);
            // A duplicate rule may exist (added by hand or a crashed older agent); delete until none is left, bounded.
            for (int i = 0; i < 16 && await HasIpRuleAsync(netnsPath, family, cancellationToken).ConfigureAwait(false); i++)
            {
                await RunInAsync(netnsPath, ["ip", fam, "rule", "del", .. InPodRules.IpRuleArgs], null, cancellationToken).ConfigureAwait(false);
            }
            if (await HasRouteAsync(netnsPath, family, cancellationToken).ConfigureAwait(false))
            {
                await RunInAsync(netnsPath, ["ip", fam, "route", "del", .. InPodRules.IpRouteArgs(family)], null, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Transaction that turns any current state into exactly our rules: drop our jumps, flush (or create)
    /// our chains, refill, re-add jumps; delete our chains in tables the options do not use.
    /// </summary>
    internal static string RepairScript(IptablesSave save, IReadOnlyList<InPodRule> rules)
    {
        var used = InPodRules.TablesUsed(rules);
        var sb = new StringBuilder();
        foreach (string table in InPodRules.Tables)
        {
            var current = save[table];
            if (!used.Contains(table))
            {
                if (current is not null)
                {
                    AppendRemoval(sb, table, current);
                }
                continue;
            }
            sb.Append('*').Append(table).Append('\n');
            AppendJumpDeletes(sb, current);
            foreach (var (_, chain) in InPodRules.Jumps)
            {
                sb.Append(current?.Chains.Contains(chain) == true ? $"-F {chain}\n" : $":{chain} - [0:0]\n");
            }
            InPodRules.AppendRulesAndJumps(sb, table, rules);
            sb.Append("COMMIT\n");
        }
        return sb.ToString();
    }

    /// <summary>Transaction removing every jump to and every one of our chains; empty when there is none.</summary>
    internal static string RemoveScript(IptablesSave save)
    {
        var sb = new StringBuilder();
        foreach (string table in InPodRules.Tables)
        {
            if (save[table] is { } current)
            {
                AppendRemoval(sb, table, current);
            }
        }
        return sb.ToString();
    }

    private static void AppendRemoval(StringBuilder sb, string table, IptablesSave.Table current)
    {
        bool any = InPodRules.Jumps.Any(j => current.Chains.Contains(j.Chain)) || JumpsIn(current).Any();
        if (!any)
        {
            return;
        }
        sb.Append('*').Append(table).Append('\n');
        AppendJumpDeletes(sb, current);
        foreach (var (_, chain) in InPodRules.Jumps)
        {
            if (current.Chains.Contains(chain))
            {
                sb.Append("-F ").Append(chain).Append('\n');
            }
        }
        foreach (var (_, chain) in InPodRules.Jumps)
        {
            if (current.Chains.Contains(chain))
            {
                sb.Append("-X ").Append(chain).Append('\n');
            }
        }
        sb.Append("COMMIT\n");
    }

    private static void AppendJumpDeletes(StringBuilder sb, IptablesSave.Table? current)
    {
        if (current is null)
        {
            return;
        }
        foreach (var (chain, spec) in JumpsIn(current))
        {
            sb.Append("-D ").Append(chain).Append(' ').Append(spec).Append('\n');
        }
    }

    /// <summary>Rules in built-in chains that jump to one of ours (any form, e.g. with extra matches).</summary>
    private static IEnumerable<(string Chain, string Spec)> JumpsIn(IptablesSave.Table table) =>
        table.Rules.Where(r => !IsOurs(r.Chain) && InPodRules.Jumps.Any(j => r.Spec.EndsWith("-j " + j.Chain, StringComparison.Ordinal)));

    private static bool IsOurs(string chain) => InPodRules.Jumps.Any(j => j.Chain == chain);

    /// <summary>Compares one family's iptables state with <paramref name="rules"/> (empty = expect nothing).</summary>
    internal static void CompareIptables(IptablesSave save, IReadOnlyList<InPodRule> rules, List<string> present, List<string> missing, List<string> unexpected)
    {
        var used = InPodRules.TablesUsed(rules);
        foreach (string table in InPodRules.Tables)
        {
            var current = save[table];
            bool wanted = used.Contains(table);
            foreach (var (hook, chain) in InPodRules.Jumps)
            {
                string jump = $"{table} -A {hook} -j {chain}";
                int jumps = current?.RulesOf(hook).Count(s => s == "-j " + chain) ?? 0;
                var odd = current?.Rules.Where(r => r.Chain == hook && r.Spec != "-j " + chain && r.Spec.EndsWith("-j " + chain, StringComparison.Ordinal)).ToList() ?? [];
                foreach (var (c, s) in odd)
                {
                    unexpected.Add($"{table} -A {c} {s}");
                }
                if (jumps > 0)
                {
                    (wanted ? present : unexpected).Add(jump);
                }
                if (jumps > 1)
                {
                    unexpected.Add($"{jump} (x{jumps})");
                }
                if (jumps == 0 && wanted)
                {
                    missing.Add(jump);
                }

                var expected = rules.Where(r => r.Table == table && r.Chain == chain).Select(r => r.Spec).ToList();
                bool chainThere = current?.Chains.Contains(chain) == true;
                if (!wanted)
                {
                    if (chainThere)
                    {
                        unexpected.Add($"{table} chain {chain}");
                    }
                    continue;
                }
                if (!chainThere)
                {
                    missing.Add($"{table} chain {chain}");
                    missing.AddRange(expected.Select(s => $"{table} -A {chain} {s}"));
                    continue;
                }
                present.Add($"{table} chain {chain}");
                var actual = current!.RulesOf(chain).ToList();
                int missingBefore = missing.Count, unexpectedBefore = unexpected.Count;
                if (actual.SequenceEqual(expected))
                {
                    present.AddRange(expected.Select(s => $"{table} -A {chain} {s}"));
                    continue;
                }
                foreach (string s in expected)
                {
                    (actual.Contains(s) ? present : missing).Add($"{table} -A {chain} {s}");
                }
                foreach (string s in actual.Where(a => !expected.Contains(a)))
                {
                    unexpected.Add($"{table} -A {chain} {s}");
                }
                if (missing.Count == missingBefore && unexpected.Count == unexpectedBefore)
                {
                    unexpected.Add($"{table} chain {chain} out of order or duplicated");
                }
            }
        }
    }

    private async Task ApplyNetlinkAsync(string netnsPath, AddressFamily family, CancellationToken ct)
    {
        string fam = FamilyFlag(family);
        // `replace` is idempotent for the route; the rule has no replace, so check first.
        await RunInAsync(netnsPath, ["ip", fam, "route", "replace", .. InPodRules.IpRouteArgs(family)], null, ct).ConfigureAwait(false);
        if (!await HasIpRuleAsync(netnsPath, family, ct).ConfigureAwait(false))
        {
            await RunInAsync(netnsPath, ["ip", fam, "rule", "add", .. InPodRules.IpRuleArgs], null, ct).ConfigureAwait(false);
        }
    }

    private async Task<bool> HasIpRuleAsync(string netnsPath, AddressFamily family, CancellationToken ct)
    {
        // e.g. "32764:\tfrom all fwmark 0x111/0xfff lookup 100"
        string output = await RunInAsync(netnsPath, ["ip", FamilyFlag(family), "rule", "show"], null, ct).ConfigureAwait(false);
        string mark = $"fwmark 0x{InPodRules.ConnMark:x}/0x{InPodRules.MarkMask:x}";
        return output.Split('\n').Any(l => l.Contains(mark, StringComparison.Ordinal) && l.Contains($"lookup {InPodRules.RouteTable}", StringComparison.Ordinal));
    }

    private async Task<bool> HasRouteAsync(string netnsPath, AddressFamily family, CancellationToken ct)
    {
        // e.g. "local default dev lo scope host"
        var r = await RunRawInAsync(netnsPath, ["ip", FamilyFlag(family), "route", "show", "table", "100"], ct).ConfigureAwait(false);
        return r.ExitCode == 0 && r.Stdout.Split('\n').Any(l => l.StartsWith("local default dev lo", StringComparison.Ordinal));
    }

    private async Task<IptablesSave> SaveAsync(string netnsPath, AddressFamily family, CancellationToken ct) =>
        IptablesSave.Parse(await RunInAsync(netnsPath, [family == AddressFamily.InterNetworkV6 ? "ip6tables-save" : "iptables-save"], null, ct).ConfigureAwait(false));

    private async Task<bool> Ip6ToolsUsableAsync(string netnsPath, CancellationToken ct)
    {
        var r = await RunRawInAsync(netnsPath, ["ip6tables-save"], ct).ConfigureAwait(false);
        return r.ExitCode == 0;
    }

    private Task<string> RunInAsync(string netnsPath, IReadOnlyList<string> command, string? stdin, CancellationToken ct) =>
        CommandRunner.RunCheckedAsync(_nsenter, ["--net=" + netnsPath, "--", .. command], stdin, ct);

    private Task<CommandResult> RunRawInAsync(string netnsPath, IReadOnlyList<string> command, CancellationToken ct) =>
        CommandRunner.RunAsync(_nsenter, ["--net=" + netnsPath, "--", .. command], null, ct);

    private static IEnumerable<AddressFamily> Families(InPodRuleOptions options) =>
        options.Ipv6 ? [AddressFamily.InterNetwork, AddressFamily.InterNetworkV6] : [AddressFamily.InterNetwork];

    private static string Restore(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? "ip6tables-restore" : "iptables-restore";

    private static string FamilyFlag(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? "-6" : "-4";
}
