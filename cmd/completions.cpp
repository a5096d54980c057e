// netlab completions: prints the bash, zsh or fish completion script, generated from the same
// command definitions as --help.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cmd/cli_spec.hpp"
#include "cmd/common.hpp"
#include "cmd/registry.hpp"
#include "core/util/error.hpp"

namespace netlab::cmd {

Runner setup_completions(CLI::App& app) {
  auto shell = std::make_shared<std::string>();
  app.add_option("SHELL", *shell, "the shell to print a completion script for")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  set_example(app, "  mkdir -p ~/.local/share/bash-completion/completions\n"
                   "  netlab completions bash > ~/.local/share/bash-completion/completions/netlab\n"
                   "  mkdir -p ~/.zfunc   # and fpath=(~/.zfunc $fpath) before compinit in ~/.zshrc\n"
                   "  netlab completions zsh > ~/.zfunc/_netlab\n"
                   "  mkdir -p ~/.config/fish/completions\n"
                   "  netlab completions fish > ~/.config/fish/completions/netlab.fish");
  auto* self = &app;
  return [shell, self] {
    auto program = describe_cli(*self->get_parent());
    std::string script = *shell == "bash"  ? clidoc::bash_completion(program)
                         : *shell == "zsh" ? clidoc::zsh_completion(program)
                                           : clidoc::fish_completion(program);
    fmt::print("{}", script);
    return k_exit_ok;
  };
}

} // namespace netlab::cmd
