/* rthunk-lang-private.h — helpers shared inside the language layer and
 * above it, never installed */
#pragma once

#include "rthunk-budget.h"
#include "rthunk-catalog.h"
#include "rthunk-check.h"
#include "rthunk-error.h"
#include "rthunk-eval.h"
#include "rthunk-node.h"

G_BEGIN_DECLS

/* rthunk_call_context_apply() where @func (and what it calls) may call
 * only pure catalog functions, else it fails: what runs under a lock. */
RthunkValue *rthunk_call_context_apply_pure (RthunkCallContext  *context,
                                             RthunkValue        *func,
                                             RthunkValue *const *args,
                                             guint               n_args,
                                             GError            **error);

/* Sets @error to "SOURCE:LINE:COL: error: MESSAGE" for @node's position. */
void rthunk_set_node_error (GError      **error,
                            RthunkNode   *node,
                            RthunkError   code,
                            const char   *format,
                            ...) G_GNUC_PRINTF (4, 5);

/* A copy of @node with its free names renamed (@renames: name → name). */
RthunkNode *rthunk_node_rename_free (RthunkNode *node,
                                     GHashTable *renames);

/* What the tree under @node holds in memory, in bytes: every node, each
 * one's text (string literals, names) and its array of children. Walked
 * without recursion: trees from the wire may be deep. */
gsize rthunk_node_measure (RthunkNode *node);

/* Called for each scalar literal (int, float, boolean, string) of @node,
 * in pre-order (@index counts them from 0), with the literal of
 * @template at the same place: TRUE if it takes @node's value, whatever
 * it is; FALSE if the two must be equal. */
typedef gboolean (*RthunkNodeLiteralFunc) (RthunkNode *template,
                                           RthunkNode *node,
                                           guint       index,
                                           gpointer    data);

/* Whether @node is @template but for literals @func takes and
 * positions: the same kinds, names, keywords and lengths, and the same
 * values of the literals @func does not take. Stops at the first
 * difference. *@same_places (nullable) says whether every node also
 * stands where its template's does (source, line and column); it is
 * left as it is when the trees differ. */
gboolean rthunk_node_same_but_literals (RthunkNode            *template,
                                        RthunkNode            *node,
                                        gboolean              *same_places,
                                        RthunkNodeLiteralFunc  func,
                                        gpointer               data);
/* What was worked out for the last forms, by shape (rthunk-shape-memo.c):
 * a value kept for a form is given to another of its shape (the same but
 * for the values of its literals, of the same kinds; for a value kept
 * with texts, a string's text is part of the shape) when the key is the
 * same too: what the value depends on outside the form. */
#define RTHUNK_SHAPE_MEMO_FORMS 8

typedef struct
{
  guint64 words[4];
  GObject *object;              /* (nullable) by address: a reference is held while kept */
} RthunkShapeMemoKey;

typedef struct
{
  RthunkNode *form;
  guint shape;                  /* rthunk_node_shape_hash() of @form */
  RthunkShapeMemoKey key;
  gpointer value;
  gboolean texts;               /* a string's text is part of the shape */
} RthunkShapeMemoEntry;

typedef struct
{
  RthunkShapeMemoEntry entries[RTHUNK_SHAPE_MEMO_FORMS];  /* the latest first */
  guint n;
  GDestroyNotify value_free;
  guint64 hits;
} RthunkShapeMemo;

/* The value kept for a form of @form's shape under @key (the memo's), or
 * NULL. */
gpointer rthunk_shape_memo_find  (RthunkShapeMemo          *memo,
                                  RthunkNode               *form,
                                  const RthunkShapeMemoKey *key);
/* Keeps @value (taken) for @form under @key (@texts: for forms whose
 * strings have @form's texts), the oldest going when all
 * RTHUNK_SHAPE_MEMO_FORMS are taken. */
void     rthunk_shape_memo_keep  (RthunkShapeMemo          *memo,
                                  RthunkNode               *form,
                                  const RthunkShapeMemoKey *key,
                                  gpointer                  value,
                                  gboolean                  texts);
void     rthunk_shape_memo_clear (RthunkShapeMemo          *memo);

/* A hash of the shape of the tree under @node: its kinds, names and
 * lengths, not its literals (nor a string's text) nor its positions.
 * Trees rthunk_node_same_but_literals() finds the same have the same. */
guint rthunk_node_shape_hash (RthunkNode *node);

/* A text node (rthunk_node_new_text()) of the @length bytes at @text,
 * which need not end in a NUL. */
RthunkNode *rthunk_node_new_text_len (RthunkNodeKind  kind,
                                      const char     *text,
                                      gsize           length);

/* A list or vector that takes over the references of @items (the array
 * itself is copied). */
RthunkNode *rthunk_node_new_seq_take (RthunkNodeKind   kind,
                                      RthunkNode     **items,
                                      guint            n_items);

/* Sets the position of a node being built; @source is already interned
 * (g_intern_string() takes a global lock: one call per tree, not per node). */
void rthunk_node_set_position_interned (RthunkNode *node,
                                        const char *source,
                                        guint       line,
                                        guint       col);

/* How many forms @evaluator has compiled: a form run again, or one of
 * the same shape as the last (rthunk_eval_compiled_top()), is not. What
 * the tests of that reuse count. */
guint64 rthunk_evaluator_get_compiled (RthunkEvaluator *evaluator);

/* The code of one form that its user keeps from one evaluation to the
 * next (a session's named cell, run again whenever a cell it reads is
 * redefined): compiled again only for another form, or when the code no
 * longer holds (the globals it looked at, the catalog). */
typedef struct _RthunkEvalKept RthunkEvalKept;

/* As rthunk_evaluator_eval(), with the code in *@kept (made on first
 * use, freed with rthunk_eval_kept_free()). */
RthunkValue *rthunk_evaluator_eval_kept (RthunkEvaluator  *evaluator,
                                         RthunkNode       *form,
                                         RthunkEvalKept  **kept,
                                         GError          **error);
void         rthunk_eval_kept_free      (RthunkEvalKept   *kept);

/* How many forms' code an evaluator keeps (rthunk_eval_compiled_top()):
 * a server's worker, or a script, that goes from one kind of form to
 * another and back finds each kind's code again. */
#define RTHUNK_EVAL_CODES 8

/* Back to what _new() made for @catalog, keeping the allocations; FALSE
 * (and nothing done) if it was made for another catalog, or is running
 * (an evaluator), or between rthunk_checker_begin() and its end. */
gboolean rthunk_checker_reset   (RthunkChecker   *checker,
                                 RthunkCatalog   *catalog);
gboolean rthunk_evaluator_reset (RthunkEvaluator *evaluator,
                                 RthunkCatalog   *catalog);
/* How many checks the checker's memo of forms by shape answered
 * (rthunk-check-memo.c). */
guint64 rthunk_checker_get_memo_hits (RthunkChecker *checker);
/* The catalog it was made for (not a reference). */
RthunkCatalog *rthunk_checker_peek_catalog   (RthunkChecker   *checker);
RthunkCatalog *rthunk_evaluator_peek_catalog (RthunkEvaluator *evaluator);

/* What the checker's global names are bound to can be taken back
 * (rthunk-check-globals.c). Between _begin() and its _end() every binding
 * remembers what it replaced; _position() says where the bindings are
 * now, and _rollback() undoes those made since such a position. Begins
 * nest: the bindings are kept, and no longer remembered, at the last
 * _end(); after a nested begin nothing is rolled back until then. A session checks every form of a text before it commits any,
 * and takes back the bindings of those it does not commit. */
guint    rthunk_checker_begin    (RthunkChecker   *checker);
guint    rthunk_checker_position (RthunkChecker   *checker);
void     rthunk_checker_rollback (RthunkChecker   *checker,
                                  guint            position);
void     rthunk_checker_end      (RthunkChecker   *checker);
/* Whether @name, bound since @position, is bound as it was before: a
 * type equal up to the names of its variables, by def or defn as before.
 * The checks of the names that read it then come out as they did. */
gboolean rthunk_checker_rebound_same (RthunkChecker *checker,
                                      const char    *name,
                                      guint          position);

/* Makes @evaluator charge @budget (nullable; it must outlive the
 * evaluations) for what its evaluations build, as they build it, on top of
 * their own max_bytes; each evaluation's charge is released when it ends. */
void rthunk_evaluator_set_budget (RthunkEvaluator *evaluator,
                                  RthunkBudget    *budget);

/* Whether `print` in @evaluator's evaluations goes to the bounded print
 * sink (rthunk-print-sink.h), as on a server, or straight to stdout. */
void rthunk_evaluator_set_print_sink (RthunkEvaluator *evaluator,
                                      gboolean         sink);
/* Whether the remote form @evaluator's RthunkRemoteFunc is called for
 * is the operand of `await`: its value is waited for at once, so the
 * function may wait for the server's answer rather than queue the form.
 * Meaningful only during that call. */
gboolean rthunk_evaluator_remote_is_awaited (RthunkEvaluator *evaluator);
/* @evaluator's `defn` forms as they are now, or %NULL when it has none: a
 * reference to its own table, which it no longer changes (the next `defn`
 * copies it first), so a remote form can send them along without a copy
 * of its own. */
GHashTable *rthunk_evaluator_share_definitions (RthunkEvaluator *evaluator);
/* Writes what `print` printed in an evaluation of @evaluator: through the
 * sink, within its bytes an evaluation (rthunk_print_sink_set_limits()),
 * or straight out. */
void rthunk_evaluator_print (RthunkEvaluator *evaluator,
                             const char      *text,
                             gsize            len);

/* Where `(auto EXPR)` runs. */
typedef enum
{
  RTHUNK_PLACE_HERE,            /* in this evaluator */
  RTHUNK_PLACE_REMOTE,          /* on a server, as (remote EXPR) */
  RTHUNK_PLACE_SPLIT,           /* EXPR is (map F XS): as (pmap F XS) */
} RthunkPlace;

/* Chooses where `(auto EXPR)` runs: REMOTE sends @expr to a server with
 * @options (filled by the function: `on` → the server's name, say); HERE
 * runs it here, within *@probe steps when the function sets it above 0
 * (an expression never measured: past them it is placed again, measured
 * as having run out, and placed HERE then runs on the evaluation's own
 * fuel); SPLIT only when @can_split. */
typedef RthunkPlace (*RthunkPlaceFunc) (RthunkEvaluator *evaluator,
                                        RthunkNode      *expr,
                                        GHashTable      *inputs,
                                        GHashTable      *options,
                                        gboolean         can_split,
                                        guint64         *probe,
                                        gpointer         user_data);
/* What running @expr here cost: @steps and @elapsed_us; @ran_out when it
 * used up its probe and went remote instead. */
typedef void     (*RthunkMeasuredFunc) (RthunkEvaluator *evaluator,
                                        RthunkNode      *expr,
                                        guint64          steps,
                                        gint64           elapsed_us,
                                        gboolean         ran_out,
                                        gpointer         user_data);
/* Lets @place choose where each `(auto …)` of @evaluator runs, and tells
 * @measured what each local run cost; without them it runs here. */
void rthunk_evaluator_set_placement (RthunkEvaluator    *evaluator,
                                     RthunkPlaceFunc     place,
                                     RthunkMeasuredFunc  measured,
                                     gpointer            user_data);

/* The parameters of a native function (RthunkNativeFunc), as the tables'
 * functions are defined: `static RthunkValue *f (RTHUNK_NATIVE_ARGS)`. */
#define RTHUNK_NATIVE_ARGS RthunkCallContext *context, RthunkValue *const *args, guint n_args, \
                           gpointer user_data, GError **error

/* One native function of a table (the standard library's, a server's
 * own): what rthunk_catalog_add() takes. */
typedef struct
{
  const char *name;
  const char *signature;
  RthunkFuncFlags flags;
  RthunkNativeFunc func;
  const char *doc;              /* N_(): translated when added */
} RthunkNativeEntry;

/* A number that changes whenever @catalog's functions do (added,
 * replaced or removed). */
guint rthunk_catalog_get_version (RthunkCatalog *catalog);

/* Adds each of @entries to @catalog; with @owner, each holds @ref (@owner),
 * released by @unref, as its user data. A signature that does not parse
 * is a programming error: it aborts. */
void rthunk_catalog_add_entries (RthunkCatalog           *catalog,
                                 const RthunkNativeEntry *entries,
                                 guint                    n_entries,
                                 gpointer                 owner,
                                 GBoxedCopyFunc           ref,
                                 GDestroyNotify           unref);

/* The C implementation of a catalog function (NULL for a remote one). */
RthunkNativeFunc rthunk_func_def_get_native (RthunkFuncDef *def);
/* A native function outside any catalog; takes @type. */
RthunkFuncDef *rthunk_func_def_new_native (const char       *name,
                                           RthunkType       *type,
                                           RthunkFuncFlags   flags,
                                           const char       *doc,
                                           RthunkNativeFunc  func,
                                           gpointer          user_data,
                                           GDestroyNotify    destroy);
/* The type of :field as a function, ({field: a | r} -> a), with fresh
 * variables from @next_var at @level. */
RthunkType    *rthunk_field_reader_type (const char *field,
                                         guint       level,
                                         guint      *next_var);
/* :field as a function value's definition (rthunk-stdlib-record.c). */
RthunkFuncDef *rthunk_stdlib_field_reader (const char *field);

/* Whether @def is the standard library's own function of that name (the
 * evaluator may then inline it): rthunk_stdlib_add_to() marks the ones it
 * adds, and a function that replaces one of them is not marked. */
void     rthunk_func_def_set_stdlib (RthunkFuncDef *def);
gboolean rthunk_func_def_is_stdlib  (RthunkFuncDef *def);

/* What @def's own type provider says of a call with @literal; NULL with
 * @error set when it has none (a remote function) or it refuses @literal
 * (rthunk-catalog.c). */
RthunkType *rthunk_func_def_provide_type (RthunkFuncDef  *def,
                                          const char     *literal,
                                          GError        **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean    rthunk_func_def_has_provider (RthunkFuncDef  *def);

/* How a checker learns the type of a call of a provided function that it
 * has only the signature of (a server's): the layer above asks the
 * server's provideType (a client, a session), cached by literal. The
 * answer is a function type, or NULL with @error set: an
 * RTHUNK_ERROR_TYPE_MISMATCH when the data source refused @literal,
 * anything else when it could not be asked. */
typedef RthunkType *(*RthunkTypeAskFunc) (RthunkFuncDef  *def,
                                          const char     *literal,
                                          gpointer        user_data,
                                          GError        **error);

/* Lets @checker ask @ask (NULL: nobody) for the types of calls of provided
 * functions that have no provider of their own (rthunk-check-provided.c). */
void rthunk_checker_set_type_ask (RthunkChecker     *checker,
                                  RthunkTypeAskFunc  ask,
                                  gpointer           user_data);

/* When @def is a provided function called with the right number of
 * arguments by @form, replaces *@callee, its type as @checker
 * instantiated it at @level, with the call's type: its own provider's
 * answer, else the asker's of rthunk_checker_set_type_ask(), for the string literal that is the call's first
 * argument, checked to be an instance of *@callee (unified with it).
 * FALSE with @error set at the literal's position when there is no
 * literal, the data source refuses it or cannot be asked, or its answer
 * is not an instance (rthunk-check-provided.c). */
gboolean rthunk_check_provided_call  (RthunkChecker      *checker,
                                      RthunkFuncDef      *def,
                                      RthunkNode         *form,
                                      RthunkType        **callee,
                                      guint               level,
                                      guint              *next_var,
                                      GError            **error);
/* FALSE with @error set at @node when @def is a provided function, which
 * @node uses as a value rather than calls: its signature is only the shape
 * of its calls' types. */
gboolean rthunk_check_provided_value (RthunkFuncDef      *def,
                                      RthunkNode         *node,
                                      GError            **error);

/* The type of pmap, psum or preduce written as a function's, or NULL
 * for another name (rthunk-check.c). */
const char *rthunk_split_form_signature (const char *name);

/* The catalog of what servers provide, or NULL (rthunk-check.c). */
RthunkCatalog *rthunk_checker_peek_remote_catalog (RthunkChecker *checker);

/* A new catalog that shares the functions and has the capabilities of
 * @catalog (rthunk-catalog.c). */
RthunkCatalog *rthunk_catalog_copy (RthunkCatalog *catalog) G_GNUC_WARN_UNUSED_RESULT;

/* The standard library's (assoc-fn OP): OP itself, declared associative
 * by the user (preduce refuses an operation not known to be). */
#define RTHUNK_ASSOC_FN "assoc-fn"

/* The options of remote that take no value, like :ref in (remote :ref EXPR);
 * the others take one: (remote :on "alpha" EXPR). */
static inline gboolean
rthunk_remote_option_is_flag (const char *keyword)
{
  return g_strcmp0 (keyword, "ref") == 0;
}

/* A copy of a table of definitions (name → RthunkNode), holding its own
 * references, or NULL for NULL. */
GHashTable *rthunk_definitions_copy (GHashTable *definitions);

G_END_DECLS
