namespace Ambient.ControlPlane.Ca;

/// <summary>The <c>result</c> label of <c>ambient_ca_requests_total</c>.</summary>
public static class CaResult
{
    public const string Metric = "ambient_ca_requests_total";

    public const string Issued = "issued";
    public const string Unauthenticated = "unauthenticated";
    public const string InvalidCsr = "invalid_csr";
    public const string Forbidden = "forbidden";
    public const string Error = "error";
}
