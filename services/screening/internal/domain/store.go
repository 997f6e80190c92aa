package domain

import (
	"context"
	"time"
)

// Change describes the write that produced a revision.
type Change struct {
	Actor  string   // API key name
	Action string   // create, update, publish, delete, undelete
	Fields []string // proto field names the write touched
	Time   time.Time
}

// Revision is a questionnaire as one successful change left it.
type Revision struct {
	RevisionID    int64
	Change        Change
	Questionnaire Questionnaire
}

// QuestionnaireStore persists questionnaires, their published versions and their revisions.
// Every method but ListQuestionnaires is a point read, an insert or a whole-document replace by _id. Implementations
// return apperr errors: NotFound for missing ids, AlreadyExists for a taken id, Conflict when a
// conditional write lost a race or a published version would change.
type QuestionnaireStore interface {
	// CreateQuestionnaire inserts q (RevisionID 1) and records revision 1.
	CreateQuestionnaire(ctx context.Context, q *Questionnaire, c Change) error
	// ListQuestionnaires returns every questionnaire, deleted ones included. It scans: call it
	// only at start.
	ListQuestionnaires(ctx context.Context) ([]*Questionnaire, error)
	// GetQuestionnaire returns the questionnaire, deleted or not.
	GetQuestionnaire(ctx context.Context, id string) (*Questionnaire, error)
	// UpdateQuestionnaire replaces prev by next when the stored revision is still
	// prev.RevisionID (next.RevisionID = prev.RevisionID+1) and records next's revision.
	UpdateQuestionnaire(ctx context.Context, prev, next *Questionnaire, c Change) error
	// PutVersion stores a published version. Writing the same version again is a no-op;
	// writing its number with other content is Conflict: published versions never change.
	PutVersion(ctx context.Context, v *Version) error
	// GetVersion returns one published version.
	GetVersion(ctx context.Context, questionnaireID string, number int64) (*Version, error)
	// GetRevision returns one revision of a questionnaire.
	GetRevision(ctx context.Context, questionnaireID string, revision int64) (Revision, error)
}
