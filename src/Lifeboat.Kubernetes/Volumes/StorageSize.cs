using System.Diagnostics.CodeAnalysis;
using k8s.Models;

namespace Lifeboat.Kubernetes.Volumes;

/// <summary>Volume sizes as KubernetesClient's <see cref="ResourceQuantity"/>: read from what a user typed, counted in whole bytes.</summary>
public static class StorageSize
{
    /// <summary>Reads <c>10Gi</c>, <c>500M</c>, <c>1e9</c>…; false for anything the library does not read as a quantity.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out ResourceQuantity? quantity)
    {
        quantity = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        try
        {
            quantity = new ResourceQuantity(text.Trim());
            return true;
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or OverflowException)
        {
            return false;
        }
    }

    /// <summary>Whole bytes, rounded up (a volume holds at least what was asked).</summary>
    public static long Bytes(this ResourceQuantity quantity)
    {
        ArgumentNullException.ThrowIfNull(quantity);
        return (long)decimal.Ceiling(quantity.ToDecimal());
    }

    public static ResourceQuantity FromBytes(long bytes) => new(bytes, 0, ResourceQuantity.SuffixFormat.BinarySI);
}
