package main

import (
	"context"
	"errors"
	"runtime/metrics"
	"testing"
	"time"
)

// forcedGCs returns how many collections the program forced so far (runtime.GC, debug.FreeOSMemory).
func forcedGCs() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/forced:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestReleaseWhenWarm: the wrapped run's result comes back; the memory is released once the read
// model is warm, and a run that ends first is not held up waiting for warmth.
func TestReleaseWhenWarm(t *testing.T) {
	warm := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	running := make(chan struct{})
	go func() {
		done <- releaseWhenWarm(warm, func(ctx context.Context) error {
			close(running)
			<-ctx.Done()
			return errors.New("stopped")
		})(ctx)
	}()
	<-running
	before := forcedGCs()
	close(warm)
	deadline := time.Now().Add(5 * time.Second)
	for forcedGCs() == before {
		if time.Now().After(deadline) {
			t.Fatal("no forced collection within 5 s of the read model turning warm")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err == nil || err.Error() != "stopped" {
		t.Errorf("run returned %v, want the wrapped run's error", err)
	}

	// Never warm, and the run ends by itself: the wrapper returns at once.
	never := make(chan struct{})
	returned := make(chan error, 1)
	go func() {
		returned <- releaseWhenWarm(never, func(context.Context) error { return nil })(context.Background())
	}()
	select {
	case err := <-returned:
		if err != nil {
			t.Errorf("run returned %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the wrapper waited for a warmth that never came after its run had ended")
	}
}
