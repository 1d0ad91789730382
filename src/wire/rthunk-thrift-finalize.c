/* rthunk-thrift-finalize.c — Thrift 0.17 c_glib finalizers that chain up
 *
 * The finalizers of ThriftApplicationException (made by the generated
 * recv_* functions for every T_EXCEPTION reply a client receives, and by
 * Thrift's dispatch processor for every call of an unknown method a server
 * answers) and of ThriftMemoryBuffer do not chain up to GObject's, so the
 * datalist an object gets as it is disposed is never freed: 32 bytes or
 * more per object, which any peer can repeat at will.  The generated
 * structs have the same defect, patched at build time by
 * idl/patch-generated.sh; these two classes live in libthrift_c_glib, so
 * their class structures are patched here, once, when the wire types are
 * set up (rthunk_wire_ensure_types()).
 *
 * A Thrift that chains up itself is not chained up twice: before the
 * original finalizer runs, the object is given a piece of qdata whose
 * destroy notify says that GObject's finalize ran; only when it did not
 * does the wrapper run it.
 */
#include "config.h"

#include <thrift/c_glib/thrift_application_exception.h>
#include <thrift/c_glib/transport/thrift_memory_buffer.h>

#include "rthunk-thrift-finalize.h"

static void (*application_exception_finalize) (GObject *object);
static void (*memory_buffer_finalize) (GObject *object);

static GQuark marker;

static void
mark_chained (gpointer data)
{
  *(gboolean *) data = TRUE;
}

/* Runs @finalize, the class's own finalizer, then the parent class's if
 * @finalize did not reach GObject's itself. */
static void
finalize_chained (GObject *object,
                  GType    type,
                  void   (*finalize) (GObject *object))
{
  gboolean chained = FALSE;

  g_object_set_qdata_full (object, marker, &chained, mark_chained);
  finalize (object);
  if (!chained)
    G_OBJECT_CLASS (g_type_class_peek (g_type_parent (type)))->finalize (object);
}

static void
application_exception_finalize_chained (GObject *object)
{
  finalize_chained (object, THRIFT_TYPE_APPLICATION_EXCEPTION,
                    application_exception_finalize);
}

static void
memory_buffer_finalize_chained (GObject *object)
{
  finalize_chained (object, THRIFT_TYPE_MEMORY_BUFFER, memory_buffer_finalize);
}

/* Replaces @type's finalizer by @wrapper, keeping the original in @saved.
 * The class reference is kept for the life of the process. */
static void
patch_finalize (GType    type,
                void   (**saved) (GObject *object),
                void    (*wrapper) (GObject *object))
{
  GObjectClass *klass = g_type_class_ref (type);

  *saved = klass->finalize;
  klass->finalize = wrapper;
}

/* Chains the two finalizers up; call it once (rthunk_wire_ensure_types()
 * does), before any object of these classes is finalized. */
void
rthunk_thrift_finalize_chain_up (void)
{
  marker = g_quark_from_static_string ("rthunk-thrift-finalize-marker");
  patch_finalize (THRIFT_TYPE_APPLICATION_EXCEPTION,
                  &application_exception_finalize,
                  application_exception_finalize_chained);
  patch_finalize (THRIFT_TYPE_MEMORY_BUFFER,
                  &memory_buffer_finalize,
                  memory_buffer_finalize_chained);
}
