namespace Ambient.ControlPlane.Ca;

/// <summary>Turns a bearer token into a <see cref="CaCaller"/>; null when this authenticator does not accept it.</summary>
public interface ICaCallerAuthenticator
{
    ValueTask<CaCaller?> AuthenticateAsync(string token, CancellationToken ct);
}
