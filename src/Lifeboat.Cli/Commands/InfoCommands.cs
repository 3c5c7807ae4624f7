using System.CommandLine;
using System.Reflection;
using System.Runtime.InteropServices;
using Lifeboat.Cli.Output;

namespace Lifeboat.Cli.Commands;

/// <summary><c>lifeboat version</c> and <c>lifeboat completion bash|zsh</c>.</summary>
internal static class InfoCommands
{
    /// <summary>The informational version: the project version and, when built from git, "+" and the commit.</summary>
    public static string InformationalVersion { get; } =
        typeof(InfoCommands).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    public static Command Version(CliContext context)
    {
        var output = OutputFormats.Option();
        var command = new Command("version", "Print Lifeboat's version, the commit it was built from, and the .NET runtime it runs on");
        command.Options.Add(output);
        command.SetAction(async (parse, _) =>
        {
            var parts = InformationalVersion.Split('+', 2);
            var info = new
            {
                version = parts[0],
                commit = parts.Length > 1 ? parts[1] : "unknown",
                runtime = RuntimeInformation.FrameworkDescription,
                platform = RuntimeInformation.RuntimeIdentifier,
            };
            if (parse.GetValue(output).IsStructured())
            {
                await OutputFormats.WriteAsync(context.Output, parse.GetValue(output), info);
            }
            else
            {
                await context.Output.WriteLineAsync($"lifeboat {info.version} (commit {info.commit}, {info.runtime}, {info.platform})");
            }

            return ExitCodes.Success;
        });
        return command;
    }

    public static Command Completion(CliContext context)
    {
        var shell = new Argument<string>("shell") { Description = "bash or zsh" };
        shell.AcceptOnlyFromAmong("bash", "zsh");
        var command = new Command("completion",
            "Print a shell completion script. bash: source <(lifeboat completion bash), or save it to /etc/bash_completion.d/lifeboat; " +
            "zsh: lifeboat completion zsh > \"${fpath[1]}/_lifeboat\". Completions come from lifeboat itself, so they always match its commands and flags.");
        command.Arguments.Add(shell);
        command.SetAction(async (parse, _) =>
        {
            await context.Output.WriteAsync(parse.GetValue(shell) == "zsh" ? Zsh : Bash);
            return ExitCodes.Success;
        });
        return command;
    }

    // Both scripts ask lifeboat for the candidates through System.CommandLine's [suggest:POSITION] directive, with the
    // line typed so far; the shell then keeps those that start with the word being completed.
    private const string Bash = """
        # bash completion for lifeboat: source <(lifeboat completion bash)
        _lifeboat_complete() {
          local IFS=$'\n' current="${COMP_WORDS[COMP_CWORD]}"
          local candidates
          candidates=$("${COMP_WORDS[0]}" "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null) || return 0
          COMPREPLY=($(compgen -W "${candidates}" -- "${current}"))
        }
        complete -o default -F _lifeboat_complete lifeboat ./lifeboat

        """;

    private const string Zsh = """
        #compdef lifeboat
        # zsh completion for lifeboat: lifeboat completion zsh > "${fpath[1]}/_lifeboat"
        _lifeboat() {
          local -a candidates
          candidates=(${(f)"$(${words[1]} "[suggest:${CURSOR}]" "${BUFFER}" 2>/dev/null)"})
          compadd -- ${candidates[@]}
        }
        compdef _lifeboat lifeboat

        """;
}
