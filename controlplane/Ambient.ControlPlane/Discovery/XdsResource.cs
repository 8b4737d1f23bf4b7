using System.Security.Cryptography;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Ambient.Xds.Protos.Discovery;

namespace Ambient.ControlPlane.Discovery;

/// <summary>
/// One serialized resource, shared by every stream that sends it. The version is a hash of the bytes,
/// so it is stable across control-plane restarts and a reconnecting client's
/// <c>initial_resource_versions</c> can be honoured after one.
/// </summary>
public sealed class XdsResource
{
    private XdsResource(string name, string version, Any any)
    {
        Name = name;
        Version = version;
        Any = any;
        Delta = new Resource { Name = name, Version = version, Resource_ = any };
    }

    public string Name { get; }
    public string Version { get; }
    public Any Any { get; }

    /// <summary>The delta envelope, built once. Never mutated after creation.</summary>
    public Resource Delta { get; }

    public static XdsResource Create(string name, IMessage message)
    {
        var any = Any.Pack(message);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(any.Value.Span, hash);
        return new XdsResource(name, Convert.ToHexStringLower(hash[..8]), any);
    }
}
