namespace Ambient.Net.Redirection;

/// <summary>One iptables rule: table, chain and the rule spec exactly as <c>iptables-save</c> prints it after <c>-A CHAIN</c>.</summary>
public readonly record struct InPodRule(string Table, string Chain, string Spec)
{
    public override string ToString() => $"{Table} -A {Chain} {Spec}";
}
