using System.Net.Sockets;
using System.Text;

namespace Ambient.Net.Redirection;

/// <summary>
/// The in-pod redirection of protocol-facts §b (Istio's istio-cni in-pod iptables mode), as data.
/// Rule specs are written in the canonical form <c>iptables-save</c> prints, so inspection can compare
/// text exactly. Everything is nat REDIRECT; no TPROXY.
/// <code>
///   PREROUTING ─▶ mangle ISTIO_PRERT: mark 0x539 (our sockets) → connmark 0x111
///             └▶ nat ISTIO_PRERT:    [virtual ifaces → 15001] · probe src ACCEPT · TCP !15008 unmarked → 15006
///   OUTPUT     ─▶ mangle ISTIO_OUTPUT: connmark 0x111 → restore mark (→ ip rule → table 100 → local)
///             └▶ nat ISTIO_OUTPUT:    probe dst ACCEPT · mark 0x111 ACCEPT · own-pod via lo ACCEPT · TCP unmarked → 15001
/// </code>
/// </summary>
public static class InPodRules
{
    /// <summary>SO_MARK of every socket the agent opens in a pod netns (ztunnel PACKET_MARK 1337 = 0x539).</summary>
    public const uint InpodMark = 0x539;

    /// <summary>Mark for connections our marked sockets originate ("tproxy" mark, historical name).</summary>
    public const uint ConnMark = 0x111;

    public const uint MarkMask = 0xfff;
    public const int RouteTable = 100;
    public const int RulePriority = 32764;

    public const int OutboundPort = 15001;
    public const int InboundPlaintextPort = 15006;
    public const int InboundHbonePort = 15008;

    public const string PreroutingChain = "ISTIO_PRERT";
    public const string OutputChain = "ISTIO_OUTPUT";

    public const string ProbeAddressV4 = "169.254.7.127";
    public const string ProbeAddressV6 = "fd16:9254:7127:1337:ffff:ffff:ffff:ffff";

    /// <summary>Tables that may hold our chains (raw only with DNS capture).</summary>
    public static IReadOnlyList<string> Tables { get; } = ["mangle", "nat", "raw"];

    /// <summary>Our chains in every table, and the built-in chain that jumps to each.</summary>
    public static IReadOnlyList<(string Hook, string Chain)> Jumps { get; } = [("PREROUTING", PreroutingChain), ("OUTPUT", OutputChain)];

    private static readonly string Mark = $"0x{InpodMark:x}/0x{MarkMask:x}";
    private static readonly string TproxyMark = $"0x{ConnMark:x}/0x{MarkMask:x}";

    /// <summary>The rules of §b, in order, for one address family.</summary>
    public static IReadOnlyList<InPodRule> Rules(InPodRuleOptions options, AddressFamily family = AddressFamily.InterNetwork)
    {
        ArgumentNullException.ThrowIfNull(options);
        bool v6 = family == AddressFamily.InterNetworkV6;
        string loopback = v6 ? "::1/128" : "127.0.0.1/32";
        string probe = (v6 ? ProbeAddressV6 : ProbeAddressV4) + (v6 ? "/128" : "/32");
        var rules = new List<InPodRule>();

        // 1. Virtual interfaces (istio.io/reroute-virtual-interfaces) go straight to the outbound listener.
        foreach (string iface in options.RerouteVirtualInterfaces)
        {
            rules.Add(new("nat", PreroutingChain, $"-i {iface} -p tcp -j REDIRECT --to-ports {OutboundPort}"));
            rules.Add(new("nat", PreroutingChain, $"-i {iface} -p tcp -j RETURN"));
        }

        // 2. Remember connections our marked sockets originate inside the pod.
        rules.Add(new("mangle", PreroutingChain, $"-m mark --mark {Mark} -j CONNMARK --set-xmark {TproxyMark}"));

        if (options.InboundCapture)
        {
            // 3. Kubelet probes (SNATed to the probe address on the host) skip capture.
            rules.Add(new("nat", PreroutingChain, $"-s {probe} -p tcp -m tcp -j ACCEPT"));
        }

        // 4. Probe replies.
        rules.Add(new("nat", OutputChain, $"-d {probe} -p tcp -m tcp -j ACCEPT"));

        if (options.InboundCapture)
        {
            // 5. Inbound TCP, except HBONE (peers dial podIP:15008 directly) and our own marked traffic.
            rules.Add(new("nat", PreroutingChain, $"! -d {loopback} -p tcp -m tcp ! --dport {InboundHbonePort} -m mark ! --mark {Mark} -j REDIRECT --to-ports {InboundPlaintextPort}"));
        }

        // 6. Replies to connections marked in (2) get the mark back, so the ip rule routes them locally.
        rules.Add(new("mangle", OutputChain, "-m connmark --mark " + TproxyMark + " -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff"));

        // 7/8 (DNS capture) not generated: no DNS proxy yet.

        // 9. Marked (connmark-restored) TCP is never redirected.
        rules.Add(new("nat", OutputChain, $"-p tcp -m mark --mark {TproxyMark} -j ACCEPT"));
        // 10. The app calling its own pod IP stays local.
        rules.Add(new("nat", OutputChain, $"! -d {loopback} -o lo -j ACCEPT"));
        // 11. Everything else outbound goes to the outbound listener, except the agent's own sockets.
        rules.Add(new("nat", OutputChain, $"! -d {loopback} -p tcp -m mark ! --mark {Mark} -j REDIRECT --to-ports {OutboundPort}"));
        return rules;
    }

    /// <summary>Tables that hold at least one rule with these options, in <see cref="Tables"/> order.</summary>
    public static IReadOnlyList<string> TablesUsed(IReadOnlyList<InPodRule> rules) =>
        Tables.Where(t => rules.Any(r => r.Table == t)).ToArray();

    /// <summary>
    /// <c>iptables-restore --noflush</c> input for a namespace with none of our state: create the chains,
    /// fill them, then add the jumps (last, so no packet ever reaches a half-filled chain).
    /// </summary>
    public static string RestoreInput(InPodRuleOptions options, AddressFamily family = AddressFamily.InterNetwork)
    {
        var rules = Rules(options, family);
        var sb = new StringBuilder();
        foreach (string table in TablesUsed(rules))
        {
            sb.Append('*').Append(table).Append('\n');
            foreach (var (_, chain) in Jumps)
            {
                sb.Append(':').Append(chain).Append(" - [0:0]\n");
            }
            AppendRulesAndJumps(sb, table, rules);
            sb.Append("COMMIT\n");
        }
        return sb.ToString();
    }

    internal static void AppendRulesAndJumps(StringBuilder sb, string table, IReadOnlyList<InPodRule> rules)
    {
        foreach (var rule in rules)
        {
            if (rule.Table == table)
            {
                sb.Append("-A ").Append(rule.Chain).Append(' ').Append(rule.Spec).Append('\n');
            }
        }
        foreach (var (hook, chain) in Jumps)
        {
            sb.Append("-A ").Append(hook).Append(" -j ").Append(chain).Append('\n');
        }
    }

    /// <summary><c>ip rule</c> arguments (after <c>ip [-6] rule add</c>): marked replies look up table 100.</summary>
    public static IReadOnlyList<string> IpRuleArgs { get; } =
        ["fwmark", $"0x{ConnMark:x}/0x{MarkMask:x}", "pref", RulePriority.ToString(System.Globalization.CultureInfo.InvariantCulture), "lookup", RouteTable.ToString(System.Globalization.CultureInfo.InvariantCulture)];

    /// <summary><c>ip route</c> arguments (after <c>ip [-6] route add</c>): table 100 delivers everything locally.</summary>
    public static IReadOnlyList<string> IpRouteArgs(AddressFamily family = AddressFamily.InterNetwork) =>
        ["local", family == AddressFamily.InterNetworkV6 ? "::/0" : "0.0.0.0/0", "dev", "lo", "table", RouteTable.ToString(System.Globalization.CultureInfo.InvariantCulture)];
}
