package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/beaconcms/beacon/services/content/internal/domain"
)

// syntheticWords is the vocabulary of generated articles: plain words from the field, so that
// search and readability behave as they would on real text.
var syntheticWords = strings.Fields(`kratom tolerance withdrawal dependence recovery support help
family friend doctor clinic treatment plan sleep mood craving habit daily week month people
person health body mind stress anxiety pain relief dose use stop start slowly talk listen care
group peer counselor therapy medicine safe risk signs symptoms change time life work home
school trust honest open hope small steps progress setback learn body rest water food walk
call text line hotline local online community meeting share story path choice need want feel
better worse often sometimes usually rarely many few most some every new old good hard easy
clear simple strong gentle patient calm ready able early later first next last together alone`)

// Synthetic returns n generated articles of about bodyBytes of Markdown each, for benchmarks
// and load tests. The same seed gives the same articles.
func Synthetic(seed uint64, n, bodyBytes int, siteID string) []domain.Content {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]domain.Content, 0, n)
	for i := range n {
		title := fmt.Sprintf("%s %s and %s: article %d", capitalize(word(rng)), word(rng), word(rng), i+1)
		out = append(out, domain.Content{
			Title:       title,
			Summary:     sentence(rng, 20),
			Body:        syntheticBody(rng, bodyBytes),
			Tags:        []string{word(rng), word(rng)},
			Topics:      []string{"topic " + word(rng)},
			Authors:     []domain.Person{{DisplayName: "Synthetic Author"}},
			TargetSites: []string{siteID},
		})
	}
	return out
}

func syntheticBody(rng *rand.Rand, size int) string {
	var b strings.Builder
	section := 0
	for b.Len() < size {
		section++
		fmt.Fprintf(&b, "## %s %s %d\n\n", capitalize(word(rng)), word(rng), section)
		for range 3 {
			b.WriteString(sentence(rng, 12+rng.IntN(10)))
			b.WriteString(" ")
			b.WriteString(sentence(rng, 8+rng.IntN(10)))
			b.WriteString("\n\n")
		}
		for range 3 {
			b.WriteString("- " + sentence(rng, 6) + "\n")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func word(rng *rand.Rand) string { return syntheticWords[rng.IntN(len(syntheticWords))] }

func sentence(rng *rand.Rand, words int) string {
	parts := make([]string, words)
	for i := range parts {
		parts[i] = word(rng)
	}
	return capitalize(strings.Join(parts, " ")) + "."
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
