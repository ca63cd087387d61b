// `chronik-server completion` prints a bash completion script generated from the command line
// definition itself (the CLI11 tree daemon/main.cc builds): every subcommand, at every depth, with
// its options. A subcommand added to main.cc is completed without touching any completion file;
// the build writes the script that the package installs as
// /usr/share/bash-completion/completions/chronik-server (packaging/packaging.cmake).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace chronik::daemon {

// The subcommand; hidden from --help (it is for the build and the packager).
CLI::App* add_completion_command(CLI::App& app);

// The bash script for `app`'s whole tree.
std::string bash_completion_script(const CLI::App& app);

}  // namespace chronik::daemon
