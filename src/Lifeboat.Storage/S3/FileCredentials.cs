using Amazon.Runtime;
using Lifeboat.Core.Errors;

namespace Lifeboat.Storage.S3;

/// <summary>
/// S3 credentials from files in a directory, as a mounted Kubernetes Secret provides them: <c>accessKeyID</c>,
/// <c>secretAccessKey</c> and optionally <c>sessionToken</c> (the names Gardener's backup secrets use). The files are
/// read again whenever they change, so a rotated Secret takes effect without a restart.
/// </summary>
public sealed class FileCredentials : AWSCredentials
{
    public const string AccessKeyFile = "accessKeyID";
    public const string SecretKeyFile = "secretAccessKey";
    public const string SessionTokenFile = "sessionToken";

    private readonly string _directory;
    private readonly Lock _lock = new();
    private (DateTime, DateTime, DateTime) _stamp;
    private ImmutableCredentials? _current;

    private FileCredentials(string directory) => _directory = directory;

    /// <summary>Checks the directory once, so that a wrong path fails at start rather than at the first upload.</summary>
    public static FileCredentials Open(string directory)
    {
        var credentials = new FileCredentials(Path.GetFullPath(directory));
        credentials.GetCredentials();
        return credentials;
    }

    public override ImmutableCredentials GetCredentials()
    {
        var stamp = (Stamp(AccessKeyFile), Stamp(SecretKeyFile), Stamp(SessionTokenFile));
        lock (_lock)
        {
            if (_current is null || stamp != _stamp)
            {
                _current = Read();
                _stamp = stamp;
            }

            return _current;
        }
    }

    public override Task<ImmutableCredentials> GetCredentialsAsync() => Task.FromResult(GetCredentials());

    private DateTime Stamp(string name) => File.GetLastWriteTimeUtc(Path.Combine(_directory, name));

    private ImmutableCredentials Read()
    {
        var accessKey = ReadFile(AccessKeyFile, required: true)!;
        var secretKey = ReadFile(SecretKeyFile, required: true)!;
        var token = ReadFile(SessionTokenFile, required: false);
        return new ImmutableCredentials(accessKey, secretKey, string.IsNullOrEmpty(token) ? null : token);
    }

    private string? ReadFile(string name, bool required)
    {
        var path = Path.Combine(_directory, name);
        try
        {
            var value = File.ReadAllText(path).Trim();
            if (value.Length == 0 && required)
            {
                throw new StoreException(StoreErrorKind.AccessDenied, $"S3 credentials file {path} is empty",
                    $"put the value in {name} (the Secret's key of that name)");
            }

            return value;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException && !required)
        {
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StoreException(StoreErrorKind.AccessDenied, $"cannot read S3 credentials file {path}: {ex.Message}",
                $"mount a Secret with the keys {AccessKeyFile} and {SecretKeyFile} at {_directory}, or fix --s3-credentials-dir", ex);
        }
    }
}
