#include "daemon/cli.h"

int main(int argc, char** argv) { return camwatch::daemon::run_cli(argc, argv); }
