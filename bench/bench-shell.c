/* bench-shell.c — bench-rpc's benchmarks through an RthunkSession
 *
 * What the shell (`rthunk`) drives: a script's text evaluated by a
 * session, as `rthunk -s SERVER FILE` does (one rthunk_session_eval of the
 * whole text, then waiting for its value). The rthunkd and the bare server
 * are bench-rpc's. Figures, each the median of --reps repetitions, the
 * two sides of a ratio alternating within a repetition:
 *
 *   chain   1000 (remote (+ x 1)) links in a loop vs the same awaited
 *   shell   a loop of N (await (remote (+ i 1))), µs per form, against N
 *           sequential bare add(i, 1), µs per call; and the fan-out
 *           (await (sum (map (fn [i] (remote (+ i 1))) (range 0 M)))),
 *           thunks/s
 *   mix     2000 distinct awaited remote forms (a user defn, string
 *           literals, lists, floats, inputs of several types), per form,
 *           against one repeated (+ i 1): through the C API
 *           (rthunk_client_submit_full) and through the session
 */
#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "rthunk.h"
#include "bench-time.h"
#include "bench-rpc.h"

#define MIX_FORMS 2000
#define MIX_KINDS 6

static RthunkSession *
session_open (Peer *rthunkd)
{
  g_autoptr(GError) error = NULL;
  RthunkSession *session = rthunk_session_new ();

  /* as `rthunk FILE` and `rthunk -e` make theirs: a script waits for each
   * expression before the next, so its expressions run in the calling
   * thread (not the pool's, as a REPL line that may wait does) */
  rthunk_session_set_sequential (session, TRUE);
  if (!rthunk_session_add_server (session, rthunkd->address, &error))
    g_error ("the session cannot reach rthunkd: %s", error->message);
  return session;
}

/* Evaluates @text in @session and waits for its value, which must print
 * as @expected; the seconds it took, end to end. */
static double
session_run (RthunkSession *session,
             const char    *text,
             const char    *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = NULL;
  g_autoptr(RthunkValue) got = NULL;
  g_autofree char *printed = NULL;
  double start = now_s (), seconds;

  if ((value = rthunk_session_eval (session, text, "<bench>", &error)) == NULL ||
      (got = rthunk_session_wait (session, value, -1, &error)) == NULL)
    g_error ("the session failed: %s", error->message);
  seconds = now_s () - start;
  printed = rthunk_value_to_string (got);
  if (g_strcmp0 (printed, expected) != 0)
    g_error ("the session gave %s, not %s", printed, expected);
  return seconds;
}

/* ---- chain ------------------------------------------------------------------------------- */

/* Through a session, as a user writes it: a loop of N links, evaluated
 * and awaited; timed end to end. Pipelined, each link is a
 * (remote (+ x 1)) of the pending x before it, and the session's queue
 * sends the burst in frames of 64 while it is made; awaited, each link is
 * awaited before the next. */
void
bench_chain_session (Peer *rthunkd)
{
  guint n = scaled (1000);
  g_autoptr(RthunkSession) session = session_open (rthunkd);
  g_autofree char *pipelined = g_strdup_printf (
    "(loop [i 0 x (remote 0)] (if (< i %u) (recur (+ i 1) (remote (+ x 1))) x))", n);
  g_autofree char *awaited = g_strdup_printf (
    "(loop [i 0 x 0] (if (< i %u) (recur (+ i 1) (await (remote (+ x 1)))) x))", n);
  g_autofree char *expected = g_strdup_printf ("%u", n);
  g_autofree double *at = g_new (double, opt_reps);
  g_autofree double *pt = g_new (double, opt_reps);
  double a, p;

  session_run (session, awaited, expected);      /* warm-up */
  for (int rep = 0; rep < opt_reps; rep++)
    {
      at[rep] = session_run (session, awaited, expected) * 1e3;
      pt[rep] = session_run (session, pipelined, expected) * 1e3;
      say ("session chain rep %d: awaited %.1f ms, pipelined %.1f ms (%u links)", rep + 1, at[rep], pt[rep], n);
    }
  a = median (at, opt_reps);
  p = median (pt, opt_reps);
  result ("chain.session_awaited_ms", a);
  result ("chain.session_pipelined_ms", p);
  result ("chain.session_ratio", p / a);
}

/* ---- shell: awaited forms and fan-out ----------------------------------------------------- */

/* N sequential bare add(k, 1), timed end to end: seconds per call. */
static double
bare_loop (Bare  *b,
           guint  n)
{
  double start = now_s ();

  for (guint k = 0; k < n; k++)
    if (bare_add (b, k, 1) != (gint64) k + 1)
      g_error ("add(%u, 1) is not %u", k, k + 1);
  return (now_s () - start) / n;
}

void
bench_shell (Peer *rthunkd,
             Peer *bare)
{
  guint n = scaled (10000), m = scaled (20000);
  g_autoptr(RthunkSession) session = session_open (rthunkd);
  g_autofree char *awaited = g_strdup_printf (
    "(loop [i 0 s 0] (if (< i %u) (recur (+ i 1) (+ s (await (remote (+ i 1))))) s))", n);
  g_autofree char *fanout = g_strdup_printf ("(await (sum (map (fn [i] (remote (+ i 1))) (range 0 %u))))", m);
  g_autofree char *awaited_sum = g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) n * (n + 1) / 2);
  g_autofree char *fanout_sum = g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) m * (m + 1) / 2);
  Bare *b = bare_open (bare);
  g_autofree double *st = g_new (double, opt_reps);
  g_autofree double *bt = g_new (double, opt_reps);
  g_autofree double *ratio = g_new (double, opt_reps);
  g_autofree double *ft = g_new (double, opt_reps);

  session_run (session, awaited, awaited_sum);     /* warm-up */
  bare_loop (b, MIN (n, 1000u));
  for (int rep = 0; rep < opt_reps; rep++)
    {
      st[rep] = session_run (session, awaited, awaited_sum) / n * 1e6;
      bt[rep] = bare_loop (b, n) * 1e6;
      ratio[rep] = st[rep] / bt[rep];
      ft[rep] = m / session_run (session, fanout, fanout_sum);
      say ("shell rep %d: awaited %.1f µs a form, bare %.1f µs a call (%.2fx); fan-out %.0f thunks/s",
           rep + 1, st[rep], bt[rep], ratio[rep], ft[rep]);
    }
  result ("shell.forms", n);
  result ("shell.awaited_us", median (st, opt_reps));
  result ("shell.bare_us", median (bt, opt_reps));
  result ("shell.awaited_ratio", median (ratio, opt_reps));
  result ("shell.fanout_thunks", m);
  result ("shell.fanout_per_s", median (ft, opt_reps));
  bare_close (b);
}

/* ---- mix: distinct forms, as real work sends them ----------------------------------------- */

/* What the mix's forms may use: a user function, and two cells whose
 * values the C API sends as inputs of their own types. */
static const char mix_preamble[] = "(defn twice [x] (* 2 x))\n(def s \"ab\")\n(def f 0.5)\n";

/* A form of kind @kind (0 … MIX_KINDS − 1) with the literal @k (distinct
 * in every form of every round), without (await (remote …)); its value as
 * rthunk_value_to_string() prints it in *@expected. */
static char *
mix_form (guint   kind,
          guint   k,
          char  **expected)
{
  switch (kind)
    {
    case 0:                     /* a user defn */
      *expected = g_strdup_printf ("%u", 2 * k);
      return g_strdup_printf ("(twice %u)", k);
    case 1:                     /* a string literal that differs */
      *expected = g_strdup_printf ("%d", g_snprintf (NULL, 0, "word %u", k));
      return g_strdup_printf ("(str-len \"word %u\")", k);
    case 2:                     /* a list */
      *expected = g_strdup_printf ("%u", k + 6);
      return g_strdup_printf ("(sum [%u 1 2 3])", k);
    case 3:                     /* floats */
      *expected = g_strdup_printf ("%u.0", 2 * k + 1);
      return g_strdup_printf ("(* %u.5 2.0)", k);
    case 4:                     /* a string input */
      *expected = g_strdup_printf ("\"ab%u\"", k);
      return g_strdup_printf ("(concat s (str %u))", k);
    default:                    /* a float input */
      *expected = g_strdup_printf ("%u.75", k);
      return g_strdup_printf ("(+ f %u.25)", k);
    }
}

/* One round of the mix: forms never sent before (their literals start at
 * a new number each round), so neither the client's memo nor the server's
 * has seen them, as in a script run once. */
typedef struct
{
  RthunkNode *forms[MIX_FORMS];
  char *expected[MIX_FORMS];
  GHashTable *inputs[MIX_KINDS];        /* by kind: what the form reads */
  GHashTable *definitions;
  GString *script;                      /* the forms, one awaited remote form a line */
  guint round;
} Mix;

static GHashTable *
mix_inputs (const char  *name,
            RthunkValue *value)
{
  GHashTable *inputs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) rthunk_value_unref);

  g_hash_table_insert (inputs, (gpointer) name, value);
  return inputs;
}

static Mix *
mix_new (void)
{
  Mix *mix = g_new0 (Mix, 1);

  mix->definitions = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) rthunk_node_unref);
  g_hash_table_insert (mix->definitions, (gpointer) "twice", parse_one ("(defn twice [x] (* 2 x))"));
  mix->inputs[4] = mix_inputs ("s", rthunk_value_new_str ("ab"));
  mix->inputs[5] = mix_inputs ("f", rthunk_value_new_float (0.5));
  mix->script = g_string_new (NULL);
  return mix;
}

static void
mix_clear_round (Mix *mix)
{
  for (guint k = 0; k < MIX_FORMS; k++)
    {
      g_clear_pointer (&mix->forms[k], rthunk_node_unref);
      g_clear_pointer (&mix->expected[k], g_free);
    }
}

/* The next round's forms (not timed). */
static void
mix_next_round (Mix *mix)
{
  mix_clear_round (mix);
  g_string_truncate (mix->script, 0);
  for (guint k = 0; k < MIX_FORMS; k++)
    {
      g_autofree char *text = mix_form (k % MIX_KINDS, mix->round * MIX_FORMS + k, &mix->expected[k]);

      mix->forms[k] = parse_one (text);
      g_string_append_printf (mix->script, "(await (remote %s))\n", text);
    }
  mix->round++;
}

static void
mix_free (Mix *mix)
{
  mix_clear_round (mix);
  for (guint k = 0; k < MIX_KINDS; k++)
    g_clear_pointer (&mix->inputs[k], g_hash_table_unref);
  g_hash_table_unref (mix->definitions);
  g_string_free (mix->script, TRUE);
  g_free (mix);
}

/* Submits @expr and waits for its value, which must print as @expected
 * (when not %NULL: printing a float costs more than a loopback call). */
static void
capi_call (RthunkClient *client,
           RthunkNode   *expr,
           GHashTable   *inputs,
           GHashTable   *definitions,
           const char   *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = rthunk_client_submit_full (client, expr, inputs, definitions, &error);
  g_autoptr(RthunkValue) forced = NULL;
  g_autofree char *printed = NULL;

  if (value != NULL)
    forced = rthunk_value_is_pending (value) ? rthunk_value_force (value, &error) : rthunk_value_ref (value);
  if (forced == NULL)
    g_error ("the mix failed: %s", error->message);
  if (expected == NULL)
    return;
  printed = rthunk_value_to_string (forced);
  if (strcmp (printed, expected) != 0)
    g_error ("the mix gave %s, not %s", printed, expected);
}

/* A new round of the mix through the C API, each form awaited: seconds
 * per form. @check: each value checked (the warm-up). */
static double
capi_mix (RthunkClient *client,
          Mix          *mix,
          gboolean      check)
{
  double start;

  mix_next_round (mix);
  start = now_s ();
  for (guint k = 0; k < MIX_FORMS; k++)
    capi_call (client, mix->forms[k], mix->inputs[k % MIX_KINDS], mix->definitions,
               check ? mix->expected[k] : NULL);
  return (now_s () - start) / MIX_FORMS;
}

/* A new round of the mix as one script through @session: seconds per form. */
static double
shell_mix (RthunkSession *session,
           Mix           *mix)
{
  mix_next_round (mix);
  return session_run (session, mix->script->str, mix->expected[MIX_FORMS - 1]) / MIX_FORMS;
}

/* The single shape through the C API: `(+ i 1)`, i an input, MIX_FORMS
 * times, each awaited: seconds per form. */
static double
capi_single (RthunkClient *client,
             RthunkNode   *expr,
             gboolean      check)
{
  g_autoptr(GHashTable) inputs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                        (GDestroyNotify) rthunk_value_unref);
  double start = now_s ();

  for (guint k = 0; k < MIX_FORMS; k++)
    {
      g_autofree char *expected = check ? g_strdup_printf ("%u", k + 1) : NULL;

      g_hash_table_replace (inputs, (gpointer) "i", rthunk_value_new_int (k));
      capi_call (client, expr, inputs, NULL, expected);
    }
  return (now_s () - start) / MIX_FORMS;
}

static double
median_ratio (double *a,
              double *b,
              double *ratio)
{
  for (int rep = 0; rep < opt_reps; rep++)
    ratio[rep] = a[rep] / b[rep];
  return median (ratio, opt_reps);
}

/* The mix against the single shape, per form, through the C API and
 * through a session. Each form is as cheap as (+ i 1): the server's result
 * cache keeps none of them, so a repetition evaluates every form again. */
void
bench_mix (Peer *rthunkd)
{
  Mix *mix = mix_new ();
  g_autoptr(RthunkClient) client = rthunk_open (rthunkd);
  g_autoptr(RthunkNode) single = parse_one ("(+ i 1)");
  g_autoptr(RthunkSession) session = session_open (rthunkd);
  g_autofree char *loop = g_strdup_printf (
    "(loop [i 0 s 0] (if (< i %u) (recur (+ i 1) (+ s (await (remote (+ i 1))))) s))", MIX_FORMS);
  g_autofree char *loop_sum = g_strdup_printf ("%u", MIX_FORMS * (MIX_FORMS + 1) / 2);
  g_autofree double *cm = g_new (double, opt_reps);
  g_autofree double *cs = g_new (double, opt_reps);
  g_autofree double *sm = g_new (double, opt_reps);
  g_autofree double *ss = g_new (double, opt_reps);
  g_autofree double *ratio = g_new (double, opt_reps);
  double capi_ratio, shell_ratio;

  session_run (session, mix_preamble, "0.5");
  capi_mix (client, mix, TRUE);         /* warm-up, values checked */
  capi_single (client, single, TRUE);
  shell_mix (session, mix);
  session_run (session, loop, loop_sum);
  for (int rep = 0; rep < opt_reps; rep++)
    {
      cm[rep] = capi_mix (client, mix, FALSE) * 1e6;
      cs[rep] = capi_single (client, single, FALSE) * 1e6;
      sm[rep] = shell_mix (session, mix) * 1e6;
      ss[rep] = session_run (session, loop, loop_sum) / MIX_FORMS * 1e6;
      say ("mix rep %d: C API %.1f µs a form, single shape %.1f µs; shell %.1f µs a form, single shape %.1f µs",
           rep + 1, cm[rep], cs[rep], sm[rep], ss[rep]);
    }
  capi_ratio = median_ratio (cm, cs, ratio);
  shell_ratio = median_ratio (sm, ss, ratio);
  result ("mix.forms", MIX_FORMS);
  result ("mix.capi_us", median (cm, opt_reps));
  result ("mix.capi_single_us", median (cs, opt_reps));
  result ("mix.capi_ratio", capi_ratio);
  result ("mix.shell_us", median (sm, opt_reps));
  result ("mix.shell_single_us", median (ss, opt_reps));
  result ("mix.shell_ratio", shell_ratio);
  mix_free (mix);
}
