package textsearch_test

import (
	"testing"
	"github.com/beaconcms/beacon/platform/textsearch"
)

func TestZZBreakdown(t *testing.T) {
	ix := synthIndex(10000)
	t.Log(textsearch.Breakdown(ix))
}
