namespace Lifeboat.Cli.Tests; internal static class Placeholder { }
