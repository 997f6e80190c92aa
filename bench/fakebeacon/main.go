// Command fakebeacon is a test double of `beacon seed` and `beacon dev` for developing and
// checking bench/delivery without a Beacon build: it accepts the same flags, prints the same
// ready lines and serves the delivery REST routes from memory. It measures nothing about Beacon.
//
//	go build -o /tmp/fakebeacon ./bench/fakebeacon
//	go run ./bench/delivery -beacon /tmp/fakebeacon -cold-articles 2000
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type seedFile struct {
	Site      string `json:"site"`
	Articles  int    `json:"articles"`
	BodyBytes int    `json:"bodyBytes"`
}

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "seed" && os.Args[1] != "dev") {
		fmt.Fprintln(os.Stderr, "usage: fakebeacon seed|dev [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	dir := fs.String("data-dir", "./data", "")
	site := fs.String("site", "bench", "")
	articles := fs.Int("articles", 1000, "")
	bodyBytes := fs.Int("body-bytes", 6000, "")
	_ = fs.Uint64("seed", 1, "")
	httpAddr := fs.String("http-addr", "127.0.0.1:8080", "")
	_ = fs.String("grpc-addr", "", "")
	_ = fs.String("log-level", "info", "")
	_ = fs.Parse(os.Args[2:])
	path := filepath.Join(*dir, "fake.json")
	if os.Args[1] == "seed" {
		b, _ := json.Marshal(seedFile{Site: *site, Articles: *articles, BodyBytes: *bodyBytes})
		if err := os.MkdirAll(*dir, 0o700); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	var sf seedFile
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, &sf)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakebeacon dev:", err)
		os.Exit(1)
	}
	if err := serve(*httpAddr, sf); err != nil {
		fmt.Fprintln(os.Stderr, "fakebeacon dev:", err)
		os.Exit(1)
	}
}

type article struct {
	card  map[string]any
	text  string // lower-case title and body, for search
	json  []byte
	etag  string
	title string
}

var words = strings.Fields(`kratom tolerance withdrawal dependence recovery support help family friend
doctor clinic treatment plan sleep mood craving habit daily week month people person health body`)

func serve(addr string, sf seedFile) error {
	rng := rand.New(rand.NewPCG(1, 2))
	arts := make([]*article, sf.Articles)
	bySlug := map[string]*article{}
	for i := range arts {
		var body strings.Builder
		for body.Len() < sf.BodyBytes*3/2 {
			body.WriteString(words[rng.IntN(len(words))] + " ")
		}
		slug := "article-" + strconv.Itoa(i+1)
		title := fmt.Sprintf("Article %d about %s", i+1, words[rng.IntN(len(words))])
		card := map[string]any{"name": "articles/" + slug, "title": title, "slug": slug, "summary": body.String()[:200]}
		full := map[string]any{"name": "articles/" + slug, "title": title, "slug": slug, "html": "<p>" + body.String() + "</p>"}
		j, _ := json.Marshal(full)
		sum := sha256.Sum256(j)
		a := &article{card: card, text: strings.ToLower(title + " " + body.String()), json: j, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, title: title}
		arts[i] = a
		bySlug[slug] = a
	}
	prefix := "/v1/sites/" + sf.Site
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+"/articles/{slug}", func(w http.ResponseWriter, r *http.Request) {
		a := bySlug[r.PathValue("slug")]
		if a == nil {
			http.Error(w, `{"code":5,"message":"not found"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("ETag", a.etag)
		if r.Header.Get("If-None-Match") == a.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(a.json)))
		_, _ = w.Write(a.json)
	})
	mux.HandleFunc("GET "+prefix+"/articles", func(w http.ResponseWriter, r *http.Request) {
		size, _ := strconv.Atoi(r.URL.Query().Get("pageSize"))
		if size <= 0 {
			size = 20
		}
		size = min(size, 100)
		off, _ := strconv.Atoi(r.URL.Query().Get("pageToken"))
		off = min(max(off, 0), len(arts))
		end := min(off+size, len(arts))
		resp := map[string]any{"articles": []map[string]any{}}
		var cards []map[string]any
		for _, a := range arts[off:end] {
			cards = append(cards, a.card)
		}
		if cards != nil {
			resp["articles"] = cards
		}
		if end < len(arts) {
			resp["nextPageToken"] = strconv.Itoa(end)
		}
		writeJSON(w, resp)
	})
	mux.HandleFunc("GET "+prefix+"/search", func(w http.ResponseWriter, r *http.Request) {
		q := strings.Fields(strings.ToLower(r.URL.Query().Get("q")))
		var results []map[string]any
		total := 0
		for _, a := range arts {
			hit := len(q) > 0
			for _, word := range q {
				if !strings.Contains(a.text, word) {
					hit = false
					break
				}
			}
			if hit {
				total++
				if len(results) < 10 {
					results = append(results, map[string]any{"article": a.card, "score": 1.0})
				}
			}
		}
		writeJSON(w, map[string]any{"results": results, "totalSize": total})
	})
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	fmt.Printf("gRPC  %s\n", "127.0.0.1:0")
	fmt.Printf("REST  http://%s\n", lis.Addr())
	if err := srv.Serve(lis); err != http.ErrServerClosed {
		return err
	}
	return nil
}

func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}
