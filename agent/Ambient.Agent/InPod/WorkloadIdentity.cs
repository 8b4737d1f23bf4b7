using Ambient.Identity;

namespace Ambient.Agent.InPod;

/// <summary>
/// A local workload as HBONE needs it: the identity its certificate carries, and the <c>baggage</c> header value
/// describing it (protocol facts §f), built once per workload version rather than per connection.
/// </summary>
public sealed record WorkloadIdentity(SpiffeId Id, string Name, string Namespace, string Baggage);
