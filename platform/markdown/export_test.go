package markdown

// Sanitize applies the Renderer's HTML policy to html, so that tests can check that
// Render's output is a fixed point of the policy.
func (r *Renderer) Sanitize(html string) string { return r.policy.Sanitize(html) }

// CountSyllables exposes countSyllables to the tests.
func CountSyllables(word string) int { return countSyllables(word) }
