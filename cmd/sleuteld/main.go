// Command sleuteld is the Sleutel server: the HTTP API on the embedded event store
// in ./data by default, or on EventStoreDB with --store esdb://….
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"sleutel/cmd/internal/platform"
	"sleutel/infra/logging"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m, err := configure(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "sleuteld:", err)
		os.Exit(2)
	}
	if err := m.Run(ctx); err != nil {
		m.Logger.Error("start: " + err.Error())
		os.Exit(1)
	}
	<-ctx.Done()
	m.Logger.Info("stopping: draining requests and closing the store")
	if err := m.Close(); err != nil {
		m.Logger.Error("stop: " + err.Error())
		os.Exit(1)
	}
}

// configure reads the flags, each of which the environment can also set
// (SLEUTEL_ADDR, SLEUTEL_DATA, SLEUTEL_STORE, SLEUTEL_DEV_CLOCK,
// SLEUTEL_WEBHOOKS_ALLOW_PRIVATE, SLEUTEL_LOG_LEVEL,
// SLEUTEL_LOG_FORMAT, SLEUTEL_SMTP, SLEUTEL_SMTP_USER, SLEUTEL_SMTP_FROM,
// SLEUTEL_TRUSTED_PROXIES); a flag given on the command line wins. The SMTP
// password is read from SLEUTEL_SMTP_PASSWORD only, never from a flag, so that it
// does not show in the process list.
func configure(args []string) (*platform.Main, error) {
	fs := flag.NewFlagSet("sleuteld", flag.ContinueOnError)
	env := func(name, def string) string {
		if v, ok := os.LookupEnv(name); ok {
			return v
		}
		return def
	}
	devDefault, _ := strconv.ParseBool(env("SLEUTEL_DEV_CLOCK", "false"))
	privateDefault, _ := strconv.ParseBool(env("SLEUTEL_WEBHOOKS_ALLOW_PRIVATE", "false"))
	var cfg platform.Config
	if v := env("SLEUTEL_TRUSTED_PROXIES", ""); v != "" {
		cfg.TrustedProxies = strings.Split(v, ",")
	}
	proxiesFromFlags := false
	fs.StringVar(&cfg.Addr, "addr", env("SLEUTEL_ADDR", ":8080"), "address to serve HTTP on (SLEUTEL_ADDR)")
	fs.StringVar(&cfg.DataDir, "data", env("SLEUTEL_DATA", "./data"), "data directory (SLEUTEL_DATA)")
	fs.StringVar(&cfg.Store, "store", env("SLEUTEL_STORE", ""), "event store: empty for the embedded store in the data directory, or esdb://host:2113?tls=false (SLEUTEL_STORE)")
	fs.BoolVar(&cfg.DevClock, "dev-clock", devDefault, "enable POST /v1/dev/clock to move time, for testing trials and expiry (SLEUTEL_DEV_CLOCK)")
	fs.StringVar(&cfg.Mail.SMTP, "smtp", env("SLEUTEL_SMTP", ""), "send mail through this SMTP server, host:port, with STARTTLS; empty writes .eml files to the outbox folder of the data directory (SLEUTEL_SMTP)")
	fs.StringVar(&cfg.Mail.Username, "smtp-user", env("SLEUTEL_SMTP_USER", ""), "SMTP login (AUTH PLAIN); the password comes from SLEUTEL_SMTP_PASSWORD only (SLEUTEL_SMTP_USER)")
	fs.StringVar(&cfg.Mail.From, "smtp-from", env("SLEUTEL_SMTP_FROM", ""), "sender address of the platform's mail, e.g. \"Sleutel <no-reply@example.nl>\" (SLEUTEL_SMTP_FROM)")
	fs.Func("trusted-proxy", "a proxy (CIDR or address) whose X-Forwarded-For names the client, for trusted networks (A7); repeatable (SLEUTEL_TRUSTED_PROXIES, comma-separated)", func(v string) error {
		if !proxiesFromFlags {
			cfg.TrustedProxies, proxiesFromFlags = nil, true // the flags replace the environment's list
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, v)
		return nil
	})
	fs.BoolVar(&cfg.Webhooks.AllowPrivate, "webhooks-allow-private", privateDefault, "let webhooks target localhost and loopback, private and link-local addresses: for tests and closed networks only (SLEUTEL_WEBHOOKS_ALLOW_PRIVATE)")
	level := fs.String("log-level", env("SLEUTEL_LOG_LEVEL", "info"), "debug, info, warn or error (SLEUTEL_LOG_LEVEL)")
	format := fs.String("log-format", env("SLEUTEL_LOG_FORMAT", ""), "console or json; by default console on a terminal, json otherwise (SLEUTEL_LOG_FORMAT)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	log, err := logging.New(logging.Config{Level: *level, Format: *format})
	if err != nil {
		return nil, err
	}
	cfg.Logger = log
	cfg.OperatorPassword = os.Getenv("SLEUTEL_OPERATOR_PASSWORD")
	cfg.Mail.Password = os.Getenv("SLEUTEL_SMTP_PASSWORD")
	return &platform.Main{Config: cfg}, nil
}
