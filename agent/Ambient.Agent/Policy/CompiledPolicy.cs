using System.Net;
using Ambient.Agent.State;
using Ambient.Xds.Protos.Security;

namespace Ambient.Agent.Policy;

/// <summary>
/// An <see cref="AuthorizationPolicy"/>'s rules in a form that is cheap to test per connection: arrays instead of
/// protobuf collections, CIDRs masked once, entries ztunnel would drop (an unset string match, an address of the wrong
/// length or an overlong prefix) dropped here too, and matches left empty removed (ztunnel skips them).
/// Built once per policy object (the snapshot keeps unchanged policies by reference).
/// </summary>
internal sealed class CompiledPolicy
{
    private CompiledPolicy(AuthorizationPolicy source, Clause[][] groups)
    {
        Source = source;
        Groups = groups;
    }

    public AuthorizationPolicy Source { get; }

    /// <summary>Group (ORed) → clause (ANDed) → matches (ORed).</summary>
    public Clause[][] Groups { get; }

    public bool IsDeny => Source.Action == PolicyAction.Deny;

    public static CompiledPolicy Compile(AuthorizationPolicy policy)
    {
        var groups = new Clause[policy.Rules.Groups.Count][];
        for (var g = 0; g < groups.Length; g++)
        {
            var clauses = policy.Rules.Groups[g].Rules;
            var compiled = new Clause[clauses.Count];
            for (var c = 0; c < compiled.Length; c++)
            {
                var matches = clauses[c].Matches;
                var list = new List<CompiledMatch>(matches.Count);
                foreach (var m in matches)
                {
                    if (CompiledMatch.From(m) is { } cm)
                        list.Add(cm);
                }
                // A clause without matches matches anything; one whose every match was empty matches nothing (ztunnel).
                compiled[c] = new Clause(matches.Count == 0, [.. list]);
            }
            groups[g] = compiled;
        }
        return new CompiledPolicy(policy, groups);
    }

    /// <summary>ztunnel's <c>Authorization::matches</c>: any group whose clauses all have a matching entry.</summary>
    public bool Matches(in Peer peer)
    {
        var groups = Groups;
        // No groups (ALLOW-nothing, or every rule dropped) never matches.
        for (var g = 0; g < groups.Length; g++)
        {
            var clauses = groups[g];
            var all = true;
            for (var c = 0; c < clauses.Length && all; c++)
                all = clauses[c].Matches(in peer);
            if (all)
                return true;
        }
        return false;
    }
}

internal readonly struct Clause(bool always, CompiledMatch[] matches)
{
    public bool Always { get; } = always;
    public CompiledMatch[] Entries { get; } = matches;

    public bool Matches(in Peer peer)
    {
        if (Always)
            return true;
        foreach (var m in Entries)
        {
            if (m.Matches(in peer))
                return true;
        }
        return false;
    }
}

/// <summary>The connection as the matchers read it: addresses as bytes (IPv4-mapped IPv6 as IPv4), no allocation.</summary>
internal readonly ref struct Peer
{
    public Peer(ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, int port, PeerIdentity? identity)
    {
        Source = source;
        Destination = destination;
        Port = port;
        Identity = identity;
    }

    public ReadOnlySpan<byte> Source { get; }
    public ReadOnlySpan<byte> Destination { get; }
    public int Port { get; }
    public PeerIdentity? Identity { get; }

    /// <summary>Writes <paramref name="ip"/> into <paramref name="buffer"/> (16 bytes) and returns its 4 or 16 bytes.</summary>
    public static ReadOnlySpan<byte> Bytes(IPAddress ip, Span<byte> buffer)
    {
        if (!ip.TryWriteBytes(buffer, out var written))
            return [];
        if (written == 16 && ip.IsIPv4MappedToIPv6)
            return buffer.Slice(12, 4);
        return buffer[..written];
    }
}

internal enum StringMatchKind : byte
{
    Exact,
    Prefix,
    Suffix,
    Presence,
}

internal readonly record struct StringMatcher(StringMatchKind Kind, string Value)
{
    public static StringMatcher? From(StringMatch m) => m.MatchTypeCase switch
    {
        StringMatch.MatchTypeOneofCase.Exact => new StringMatcher(StringMatchKind.Exact, m.Exact),
        StringMatch.MatchTypeOneofCase.Prefix => new StringMatcher(StringMatchKind.Prefix, m.Prefix),
        StringMatch.MatchTypeOneofCase.Suffix => new StringMatcher(StringMatchKind.Suffix, m.Suffix),
        StringMatch.MatchTypeOneofCase.Presence => new StringMatcher(StringMatchKind.Presence, ""),
        _ => null, // unset: ztunnel drops it
    };

    public bool Matches(string value) => Kind switch
    {
        StringMatchKind.Exact => string.Equals(value, Value, StringComparison.Ordinal),
        StringMatchKind.Prefix => value.StartsWith(Value, StringComparison.Ordinal),
        StringMatchKind.Suffix => value.EndsWith(Value, StringComparison.Ordinal),
        _ => value.Length > 0,
    };
}

/// <summary>A CIDR: the network (host bits cleared) and the prefix length.</summary>
internal sealed class IpNet
{
    private readonly byte[] _network;
    private readonly int _length;

    private IpNet(byte[] network, int length)
    {
        _network = network;
        _length = length;
    }

    /// <summary>Null when ztunnel would reject it: not 4 or 16 bytes, or a prefix longer than the address.</summary>
    public static IpNet? From(Ambient.Xds.Protos.Security.Address a)
    {
        var bytes = a.Address_.ToByteArray();
        if (bytes.Length is not (4 or 16) || a.Length > bytes.Length * 8)
            return null;
        // The control plane keeps host bits as written (like istiod); containment ignores them.
        var length = (int)a.Length;
        for (var bit = length; bit < bytes.Length * 8; bit++)
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        return new IpNet(bytes, length);
    }

    public bool Contains(ReadOnlySpan<byte> ip)
    {
        if (ip.Length != _network.Length)
            return false;
        var full = _length / 8;
        if (!ip[..full].SequenceEqual(_network.AsSpan(0, full)))
            return false;
        var rest = _length % 8;
        if (rest == 0)
            return true;
        var mask = (byte)(0xFF << (8 - rest));
        return (ip[full] & mask) == _network[full];
    }

    public override string ToString() => $"{new IPAddress(_network)}/{_length}";
}

internal sealed class CompiledMatch
{
    private StringMatcher[]? _namespaces, _notNamespaces, _principals, _notPrincipals;
    private IpNet[]? _sourceIps, _notSourceIps, _destinationIps, _notDestinationIps;
    private ushort[]? _ports, _notPorts;
    private (string Namespace, string ServiceAccount)[]? _serviceAccounts, _notServiceAccounts;

    /// <summary>Null for a match with nothing left in it (ztunnel skips those: they never match).</summary>
    public static CompiledMatch? From(Match m)
    {
        var c = new CompiledMatch
        {
            _namespaces = Strings(m.Namespaces),
            _notNamespaces = Strings(m.NotNamespaces),
            _principals = Strings(m.Principals),
            _notPrincipals = Strings(m.NotPrincipals),
            _sourceIps = Nets(m.SourceIps),
            _notSourceIps = Nets(m.NotSourceIps),
            _destinationIps = Nets(m.DestinationIps),
            _notDestinationIps = Nets(m.NotDestinationIps),
            // ztunnel narrows ports to u16 the same way.
            _ports = m.DestinationPorts.Count == 0 ? null : [.. m.DestinationPorts.Select(p => (ushort)p)],
            _notPorts = m.NotDestinationPorts.Count == 0 ? null : [.. m.NotDestinationPorts.Select(p => (ushort)p)],
            _serviceAccounts = m.ServiceAccounts.Count == 0 ? null : [.. m.ServiceAccounts.Select(s => (s.Namespace, s.ServiceAccount))],
            _notServiceAccounts = m.NotServiceAccounts.Count == 0 ? null : [.. m.NotServiceAccounts.Select(s => (s.Namespace, s.ServiceAccount))],
        };
        return c.IsEmpty ? null : c;
    }

    private bool IsEmpty =>
        _namespaces is null && _notNamespaces is null && _principals is null && _notPrincipals is null
        && _sourceIps is null && _notSourceIps is null && _destinationIps is null && _notDestinationIps is null
        && _ports is null && _notPorts is null && _serviceAccounts is null && _notServiceAccounts is null;

    private static StringMatcher[]? Strings(Google.Protobuf.Collections.RepeatedField<StringMatch> list)
    {
        var kept = list.Select(StringMatcher.From).Where(s => s is not null).Select(s => s!.Value).ToArray();
        return kept.Length == 0 ? null : kept;
    }

    private static IpNet[]? Nets(Google.Protobuf.Collections.RepeatedField<Ambient.Xds.Protos.Security.Address> list)
    {
        var kept = list.Select(IpNet.From).Where(n => n is not null).Select(n => n!).ToArray();
        return kept.Length == 0 ? null : kept;
    }

    /// <summary>Every declared field holds: a positive list has a hit, a negative list has none.</summary>
    public bool Matches(in Peer peer)
    {
        var identity = peer.Identity;
        return Nets(_destinationIps, _notDestinationIps, peer.Destination)
            && Nets(_sourceIps, _notSourceIps, peer.Source)
            && Ports(peer.Port)
            && ServiceAccounts(identity)
            // No identity: every principal test fails (ztunnel's matches_principal needs the spiffe:// id).
            && Strings(_principals, _notPrincipals, identity?.Principal)
            // No identity: the namespace is "" (ztunnel's unwrap_or_default), so presence fails and not_ forms hold.
            && Strings(_namespaces, _notNamespaces, identity?.Namespace ?? "");
    }

    private static bool Nets(IpNet[]? positive, IpNet[]? negative, ReadOnlySpan<byte> ip)
    {
        if (positive is not null)
        {
            var hit = false;
            foreach (var n in positive)
            {
                if (n.Contains(ip))
                {
                    hit = true;
                    break;
                }
            }
            if (!hit)
                return false;
        }
        if (negative is not null)
        {
            foreach (var n in negative)
            {
                if (n.Contains(ip))
                    return false;
            }
        }
        return true;
    }

    private bool Ports(int port)
    {
        if (_ports is not null && Array.IndexOf(_ports, (ushort)port) < 0)
            return false;
        return _notPorts is null || Array.IndexOf(_notPorts, (ushort)port) < 0;
    }

    private static bool StringHit(StringMatcher[] list, string? value)
    {
        if (value is null)
            return false;
        foreach (var m in list)
        {
            if (m.Matches(value))
                return true;
        }
        return false;
    }

    private static bool Strings(StringMatcher[]? positive, StringMatcher[]? negative, string? value) =>
        (positive is null || StringHit(positive, value)) && (negative is null || !StringHit(negative, value));

    private static bool SaHit((string Namespace, string ServiceAccount)[] list, PeerIdentity? identity)
    {
        if (identity is null)
            return false;
        foreach (var (ns, sa) in list)
        {
            if (string.Equals(ns, identity.Namespace, StringComparison.Ordinal) && string.Equals(sa, identity.ServiceAccount, StringComparison.Ordinal))
                return true;
        }
        return false;
    }

    private bool ServiceAccounts(PeerIdentity? identity) =>
        (_serviceAccounts is null || SaHit(_serviceAccounts, identity)) && (_notServiceAccounts is null || !SaHit(_notServiceAccounts, identity));
}
