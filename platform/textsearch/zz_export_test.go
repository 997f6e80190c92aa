package textsearch

import (
	"fmt"
	"testing"
)

func Breakdown(ix *Index) string {
	var docsL, docsC, offsC, posL, posC, slotTerms int
	for _, pl := range ix.post {
		docsL += len(pl.docs); docsC += cap(pl.docs); offsC += cap(pl.cnt)/2 + cap(pl.skip)
		posL += len(pl.pos); posC += cap(pl.pos)
	}
	for _, s := range ix.slots { slotTerms += cap(s.terms) }
	return fmt.Sprintf("terms=%d surfaces=%d sorted=%d postings=%d (cap %d) docsMB=%.1f offsMB=%.1f pos=%d (cap %d) posMB=%.1f slotTermsMB=%.1f postStructMB=%.1f",
		len(ix.terms), len(ix.surf), len(ix.sorted), docsL, docsC, float64(docsC*4)/1e6, float64(offsC*4)/1e6, posL, posC, float64(posC*2)/1e6, float64(slotTerms)/1e6, float64(cap(ix.post)*80)/1e6)
}

var _ = testing.T{}
