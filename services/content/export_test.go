package content

// LiveSlugs returns the slugs the delivery read model serves on site, newest first.
func (s *Service) LiveSlugs(site string) []string {
	v := s.delivery.model.View(site)
	if v == nil {
		return nil
	}
	entries, _ := v.ListPage("", "", nil, 100)
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.Slug)
	}
	return out
}
