using System.Net;

namespace Ambient.Cni.Plugin;

/// <summary>The agent's HTTP status and body, as received.</summary>
internal readonly record struct AgentReply(HttpStatusCode Status, byte[] Body);
