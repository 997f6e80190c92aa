package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// client sends the pre-flight and cold-start requests. Like wrk it asks for no compression, so
// the bytes it sees are the bytes wrk is served; it never uses a proxy.
var client = &http.Client{
	Transport: &http.Transport{Proxy: nil, DisableCompression: true, MaxIdleConnsPerHost: 4},
	Timeout:   30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func get(ctx context.Context, rawURL string, headers ...string) (response, error) {
	if err := checkLoopback(rawURL); err != nil {
		return response{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return response{}, err
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return response{}, err
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// expect GETs rawURL and fails unless the status is want.
func expect(ctx context.Context, want int, rawURL string, headers ...string) (response, error) {
	r, err := get(ctx, rawURL, headers...)
	if err != nil {
		return r, fmt.Errorf("GET %s: %w", rawURL, err)
	}
	if r.Status != want {
		return r, fmt.Errorf("GET %s: status %d, want %d: %.300s", rawURL, r.Status, want, r.Body)
	}
	return r, nil
}

// The delivery JSON is protojson (lowerCamelCase); the proto names are accepted too.
type card struct {
	Slug string `json:"slug"`
}

type listPage struct {
	Articles          []card `json:"articles"`
	NextPageToken     string `json:"nextPageToken"`
	NextPageTokenProt string `json:"next_page_token"`
}

func (p listPage) next() string {
	if p.NextPageToken != "" {
		return p.NextPageToken
	}
	return p.NextPageTokenProt
}

type searchPage struct {
	Results []json.RawMessage `json:"results"`
	// int32 is a JSON number in protojson; accept a string too.
	TotalSize     json.Number `json:"totalSize"`
	TotalSizeProt json.Number `json:"total_size"`
}

func listURL(base, site string, pageSize int, pageToken string) string {
	q := url.Values{"pageSize": {strconv.Itoa(pageSize)}}
	if pageToken != "" {
		q.Set("pageToken", pageToken)
	}
	return base + "/v1/sites/" + url.PathEscape(site) + "/articles?" + q.Encode()
}

func articleURL(base, site, slug string) string {
	return base + "/v1/sites/" + url.PathEscape(site) + "/articles/" + url.PathEscape(slug)
}

func searchURL(base, site, query string) string {
	return base + "/v1/sites/" + url.PathEscape(site) + "/search?" + url.Values{"q": {query}}.Encode()
}

// walkList pages through the whole list of a site (pageSize 100) and returns the slugs of the
// cards it saw. It stops by itself after maxPages.
func walkList(ctx context.Context, base, site string, maxPages int) (slugs []string, pages int, err error) {
	token := ""
	for pages < maxPages {
		r, err := expect(ctx, http.StatusOK, listURL(base, site, 100, token))
		if err != nil {
			return slugs, pages, err
		}
		var p listPage
		if err := json.Unmarshal(r.Body, &p); err != nil {
			return slugs, pages, fmt.Errorf("list page %d: %w", pages+1, err)
		}
		pages++
		for _, c := range p.Articles {
			slugs = append(slugs, c.Slug)
		}
		if token = p.next(); token == "" {
			return slugs, pages, nil
		}
	}
	return slugs, pages, fmt.Errorf("list still had a next page after %d pages", maxPages)
}

// readEach GETs every slug's article once, workers at a time, as a crawler that accepts gzip
// would, and fails on the first answer that is not 200.
func readEach(ctx context.Context, base, site string, slugs []string, workers int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan string)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for slug := range next {
				if _, err := expect(ctx, http.StatusOK, articleURL(base, site, slug), "Accept-Encoding", "gzip"); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		})
	}
feed:
	for _, slug := range slugs {
		select {
		case next <- slug:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return ctx.Err()
}
