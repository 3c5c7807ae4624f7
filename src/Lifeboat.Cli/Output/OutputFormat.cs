namespace Lifeboat.Cli.Output;

internal enum OutputFormat
{
    Text,
    Table,
    Json,
}
