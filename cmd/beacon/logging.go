package main

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/beaconcms/beacon/platform/requestid"
)

func newLogger(cfg Config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", cfg.LogLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	// Every record logged with a request's context carries its id (requestid.LogHandler).
	switch cfg.LogFormat {
	case "json":
		return slog.New(requestid.LogHandler(slog.NewJSONHandler(w, opts))), nil
	case "text":
		return slog.New(requestid.LogHandler(slog.NewTextHandler(w, opts))), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", cfg.LogFormat)
}
