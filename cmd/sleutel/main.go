// Command sleutel is Sleutel's command-line tool: benchmarks today; admin and audit
// commands join it as they are built.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: sleutel <command> [arguments]

commands:
  audit verify|export|replay ...           for auditors: check, export and rebuild the history (sleutel audit help)
  bench audit [--events N] [--locks N] [--only replay,...] [--history DIR] [--cpuprofile PREFIX]
                                           measure replay, verify, access-as-of and export over a built history
  bench store [--duration D] [--dir DIR]   measure the embedded event store
  bench api [--duration D] [--locks N] [--clients N] [--cpuprofile PREFIX]
                                           measure the HTTP API of an in-process platform
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "sleutel:", err)
		os.Exit(1)
	}
}

// heapAdvised is how many bytes of the heap adviseHeap had backed by huge pages:
// the audit commands and the benchmarks, which read a whole history and build
// hundreds of megabytes of heap, ask for it.
var heapAdvised int

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("no command")
	}
	switch args[0] {
	case "bench":
		heapAdvised = adviseHeap()
		return runBench(ctx, args[1:])
	case "audit":
		heapAdvised = adviseHeap()
		return runAudit(ctx, args[1:], os.Stdout, os.Stderr)
	case "help", "-h", "--help":
		fmt.Print(usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
