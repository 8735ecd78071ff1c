/* SPDX-License-Identifier: Apache-2.0
 * JNI entry points of libjvhost.so: natives are bound with RegisterNatives (nothing but
 * JNI_OnLoad/JNI_OnUnload is exported), classes and method IDs are cached once here.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jvhost.h"

JavaVM *jvhost_vm;
jclass jvhost_illegal_argument;
jclass jvhost_illegal_state;
jclass jvhost_out_of_memory;
jclass jvhost_runtime;

static pthread_key_t upcall_thread_key;
static jclass upcalls_class;
static jmethodID upcalls_report;

static const jvhost_register_fn modules[] = {
	jvhost_log_register,
	jvhost_eal_register,
	jvhost_mbuf_register,
	jvhost_vhost_register,
	jvhost_vhost_log_register,
	jvhost_ethdev_register,
	jvhost_iotlb_cache_register,
	jvhost_iotlb_device_register,
	jvhost_rand_register,
	jvhost_vhost_device_register,
	jvhost_eth_port_register,
	jvhost_iotlb_native_handle_register,
	jvhost_iotlb_native_vhost_device_register,
#ifdef JVHOST_BENCH
	jvhost_bench_register, /* the data-path yardstick: only in the bench build */
#endif
};

int
jvhost_throw(JNIEnv *env, jclass clazz, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!(*env)->ExceptionCheck(env))
		(*env)->ThrowNew(env, clazz, msg);
	return -1;
}

jclass
jvhost_global_class(JNIEnv *env, const char *name)
{
	jclass local = (*env)->FindClass(env, name);
	jclass global;

	if (local == NULL)
		return NULL;
	global = (*env)->NewGlobalRef(env, local);
	(*env)->DeleteLocalRef(env, local);
	if (global == NULL && !(*env)->ExceptionCheck(env))
		(*env)->ThrowNew(env, jvhost_out_of_memory, "NewGlobalRef");
	return global;
}

int
jvhost_record_class(JNIEnv *env, const char *name, const char *ctor_signature, jclass *clazz, jmethodID *ctor)
{
	*clazz = jvhost_global_class(env, name);
	if (*clazz == NULL)
		return -1;
	*ctor = (*env)->GetMethodID(env, *clazz, "<init>", ctor_signature);
	return *ctor == NULL ? -1 : 0;
}

int
jvhost_register(JNIEnv *env, const char *name, const JNINativeMethod *methods, int count)
{
	jclass clazz = (*env)->FindClass(env, name);
	int rc;

	if (clazz == NULL)
		return -1;
	rc = (*env)->RegisterNatives(env, clazz, methods, count);
	(*env)->DeleteLocalRef(env, clazz);
	return rc == JNI_OK ? 0 : -1;
}

bool
jvhost_upcall_failed(JNIEnv *env, const char *where)
{
	jthrowable thrown = (*env)->ExceptionOccurred(env);
	jstring jwhere;

	if (thrown == NULL)
		return false;
	(*env)->ExceptionClear(env);
	jwhere = (*env)->NewStringUTF(env, where);
	if (jwhere != NULL) {
		(*env)->CallStaticVoidMethod(env, upcalls_class, upcalls_report, jwhere, thrown);
		(*env)->DeleteLocalRef(env, jwhere);
	}
	if (jwhere == NULL || (*env)->ExceptionCheck(env)) {
		/* Could not report it through Java: print it rather than lose it. */
		(*env)->ExceptionClear(env);
		fprintf(stderr, "jvhost: %s threw, and reporting it failed:\n", where);
		(*env)->Throw(env, thrown);
		(*env)->ExceptionDescribe(env); /* prints and clears */
	}
	(*env)->DeleteLocalRef(env, thrown);
	return true;
}

static void
detach_upcall_thread(void *unused)
{
	JavaVM *vm = jvhost_vm;

	if (vm != NULL)
		(*vm)->DetachCurrentThread(vm);
}

JNIEnv *
jvhost_env_for_upcall(void)
{
	JavaVM *vm = jvhost_vm;
	JNIEnv *env = NULL;
	JavaVMAttachArgs args;
	char name[32] = "dpdk";

	if (vm == NULL)
		return NULL;
	if ((*vm)->GetEnv(vm, (void **)&env, JVHOST_JNI_VERSION) == JNI_OK)
		return env;

	pthread_getname_np(pthread_self(), name, sizeof(name));
	args.version = JVHOST_JNI_VERSION;
	args.name = name;
	args.group = NULL;
	if ((*vm)->AttachCurrentThreadAsDaemon(vm, (void **)&env, &args) != JNI_OK)
		return NULL;
	/* The key's destructor detaches the thread when DPDK ends it. */
	pthread_setspecific(upcall_thread_key, (void *)1);
	return env;
}

JNIEXPORT jint JNICALL
JNI_OnLoad(JavaVM *vm, void *reserved)
{
	JNIEnv *env;
	int i;

	if ((*vm)->GetEnv(vm, (void **)&env, JVHOST_JNI_VERSION) != JNI_OK)
		return JNI_ERR;
	if (pthread_key_create(&upcall_thread_key, detach_upcall_thread) != 0)
		return JNI_ERR;

	jvhost_illegal_argument = jvhost_global_class(env, "java/lang/IllegalArgumentException");
	jvhost_illegal_state = jvhost_global_class(env, "java/lang/IllegalStateException");
	jvhost_out_of_memory = jvhost_global_class(env, "java/lang/OutOfMemoryError");
	jvhost_runtime = jvhost_global_class(env, "java/lang/RuntimeException");
	if (!jvhost_illegal_argument || !jvhost_illegal_state || !jvhost_out_of_memory || !jvhost_runtime)
		return JNI_ERR;
	upcalls_class = jvhost_global_class(env, "io/jvhost/internal/Upcalls");
	if (upcalls_class == NULL)
		return JNI_ERR;
	upcalls_report = (*env)->GetStaticMethodID(env, upcalls_class, "report",
		"(Ljava/lang/String;Ljava/lang/Throwable;)V");
	if (upcalls_report == NULL)
		return JNI_ERR;

	for (i = 0; i < JVHOST_ARRAY_SIZE(modules); i++)
		if (modules[i](env) != 0)
			return JNI_ERR;

	jvhost_vm = vm;
	return JVHOST_JNI_VERSION;
}

JNIEXPORT void JNICALL
JNI_OnUnload(JavaVM *vm, void *reserved)
{
	/* The library is never unloaded while EAL runs (its class loader stays alive); this only
	 * stops upcalls from native threads that outlive it. */
	jvhost_vm = NULL;
}
