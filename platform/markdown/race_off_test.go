//go:build !race

package markdown_test

// raceFactor scales CPU bounds: the race detector slows code down several times.
const raceFactor = 1
