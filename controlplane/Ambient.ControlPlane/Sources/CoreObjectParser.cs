using System.Collections.Immutable;
using System.Net;
using System.Text.RegularExpressions;
using Ambient.ControlPlane.Model;

namespace Ambient.ControlPlane.Sources;

/// <summary>Validating readers for core/v1 kinds: Namespace, ServiceAccount, Pod, Service.</summary>
internal static partial class CoreObjectParser
{
    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex DnsSubdomain();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    public static ObjectMeta Meta(YamlCursor doc, bool clusterScoped)
    {
        var meta = doc["metadata"];
        if (!meta.Exists)
            throw meta.Error("is required");
        var nameCursor = meta["name"];
        var name = nameCursor.RequiredString();
        if (name.Length > 253 || !DnsSubdomain().IsMatch(name))
            throw nameCursor.Error($"'{name}' is not a valid DNS subdomain name");
        var ns = "";
        if (!clusterScoped)
        {
            var nsCursor = meta["namespace"];
            ns = nsCursor.StringOrNull() ?? "default";
            if (ns.Length > 63 || !DnsLabel().IsMatch(ns))
                throw nsCursor.Error($"'{ns}' is not a valid namespace name");
        }
        var owners = meta["ownerReferences"].Items()
            .Select(o => new OwnerReference(o["kind"].RequiredString(), o["name"].RequiredString(), o["controller"].Bool(false)))
            .ToImmutable();
        return new ObjectMeta(
            name,
            ns,
            meta["uid"].StringOrNull() ?? "",
            meta["labels"].StringMap(),
            meta["annotations"].StringMap(),
            Deleting: meta["deletionTimestamp"].Exists,
            Owners: owners);
    }

    public static PodObject Pod(YamlCursor doc)
    {
        var meta = Meta(doc, clusterScoped: false);
        var spec = doc["spec"];
        var status = doc["status"];

        var ips = ImmutableArray.CreateBuilder<IPAddress>();
        foreach (var item in status["podIPs"].Items())
            ips.Add(Ip(item["ip"]));
        if (ips.Count == 0 && status["podIP"].Exists)
            ips.Add(Ip(status["podIP"]));

        var ready = false;
        foreach (var cond in status["conditions"].Items())
        {
            if (cond["type"].StringOrNull() == "Ready")
                ready = cond["status"].StringOrNull() == "True";
        }

        var ports = ImmutableArray.CreateBuilder<ContainerPort>();
        foreach (var container in spec["containers"].Items())
        {
            foreach (var p in container["ports"].Items())
            {
                var port = p["containerPort"].IntOrNull(1, 65535) ?? throw p["containerPort"].Error("is required");
                ports.Add(new ContainerPort(p["name"].StringOrNull(), port, Protocol(p["protocol"])));
            }
        }

        return new PodObject(
            meta,
            spec["nodeName"].StringOrNull() ?? "",
            spec["serviceAccountName"].StringOrNull() ?? spec["serviceAccount"].StringOrNull() ?? "default",
            ips.ToImmutable(),
            ready && !meta.Deleting,
            status["phase"].StringOrNull() ?? "Pending",
            spec["hostNetwork"].Bool(false),
            ports.ToImmutable());
    }

    public static ServiceObject Service(YamlCursor doc)
    {
        var meta = Meta(doc, clusterScoped: false);
        var spec = doc["spec"];
        var selector = spec["selector"].Exists ? spec["selector"].StringMap() : null;

        var ips = ImmutableArray.CreateBuilder<IPAddress>();
        var clusterIps = spec["clusterIPs"];
        if (clusterIps.Exists)
        {
            foreach (var item in clusterIps.Items())
            {
                if (item.StringOrNull() is not ("None" or ""))
                    ips.Add(Ip(item));
            }
        }
        else if (spec["clusterIP"].StringOrNull() is { } one && one is not ("None" or ""))
        {
            ips.Add(Ip(spec["clusterIP"]));
        }

        var ports = ImmutableArray.CreateBuilder<ServicePort>();
        foreach (var p in spec["ports"].Items())
        {
            var port = p["port"].IntOrNull(1, 65535) ?? throw p["port"].Error("is required");
            var target = new TargetPort(port, null);
            var tp = p["targetPort"];
            if (tp.StringOrNull() is { } s)
            {
                target = int.TryParse(s, out _)
                    ? new TargetPort(tp.IntOrNull(1, 65535)!.Value, null)
                    : DnsLabel().IsMatch(s) && s.Length <= 15
                        ? new TargetPort(0, s)
                        : throw tp.Error($"'{s}' is neither a port number nor a valid port name");
            }
            ports.Add(new ServicePort(p["name"].StringOrNull(), port, target, Protocol(p["protocol"]), p["appProtocol"].StringOrNull()));
        }

        var itp = spec["internalTrafficPolicy"];
        if (itp.StringOrNull() is { } itpValue && itpValue is not ("Cluster" or "Local"))
            throw itp.Error($"'{itpValue}' must be Cluster or Local");

        return new ServiceObject(
            meta,
            selector,
            ips.ToImmutable(),
            ports.ToImmutable(),
            itp.StringOrNull(),
            spec["trafficDistribution"].StringOrNull(),
            spec["publishNotReadyAddresses"].Bool(false),
            spec["ipFamilies"].StringList());
    }

    private static IPAddress Ip(YamlCursor c)
    {
        var s = c.RequiredString();
        // Strict syntax: IPAddress.TryParse alone would take "10.1" or octal "010.0.0.1" (see IpSyntax).
        return IpSyntax.TryParseAddress(s, out var ip) ? ip : throw c.Error($"'{s}' is not an IP address");
    }

    private static string Protocol(YamlCursor c)
    {
        var s = c.StringOrNull() ?? "TCP";
        return s is "TCP" or "UDP" or "SCTP" ? s : throw c.Error($"'{s}' must be TCP, UDP or SCTP");
    }
}
