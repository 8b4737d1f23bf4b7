namespace Ambient.Agent.Identity;

/// <summary>ztunnel's fetch priorities: a waiting connection first, then prefetches, then renewals of valid certificates.</summary>
public enum FetchPriority
{
    RealTime = 0,
    Warmup = 1,
    Background = 2,
}
