/* SPDX-License-Identifier: Apache-2.0
 * DPDK's log routed into Java: rte_openlog_stream() gets a fopencookie() stream whose write
 * function hands each message, with its level and log type, to io.jvhost.internal.NativeLog.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_log.h>

#include "jvhost.h"

#define LOG_CLASS "io/jvhost/internal/NativeLog"
/* rte_vlog() flushes after every message: a buffer this large makes one write per message. */
#define LOG_BUFFER_SIZE 8192

static jclass log_class;
static jmethodID log_publish;
static FILE *log_stream;

static ssize_t
log_write(void *cookie, const char *buf, size_t size)
{
	JNIEnv *env = jvhost_env_for_upcall();
	jthrowable pending;
	jbyteArray bytes;

	if (env == NULL || log_class == NULL) {
		/* No JVM to talk to (shutdown): keep the message on stderr rather than lose it. */
		return write(STDERR_FILENO, buf, size) < 0 ? -1 : (ssize_t)size;
	}

	/* DPDK may log while a Java exception is pending in this thread: keep it aside. */
	pending = (*env)->ExceptionOccurred(env);
	if (pending != NULL)
		(*env)->ExceptionClear(env);

	bytes = (*env)->NewByteArray(env, (jsize)size);
	if (bytes != NULL) {
		(*env)->SetByteArrayRegion(env, bytes, 0, (jsize)size, (const jbyte *)buf);
		(*env)->CallStaticVoidMethod(env, log_class, log_publish,
			(jint)rte_log_cur_msg_loglevel(), (jint)rte_log_cur_msg_logtype(), bytes);
		(*env)->DeleteLocalRef(env, bytes);
	}
	/* publish() reports its own failures; anything else (an error on entering it) is reported here */
	jvhost_upcall_failed(env, "publishing a DPDK log message");

	if (pending != NULL) {
		(*env)->Throw(env, pending);
		(*env)->DeleteLocalRef(env, pending);
	}
	return (ssize_t)size;
}

static void JNICALL
log_jni_install(JNIEnv *env, jclass clazz)
{
	cookie_io_functions_t io = { .write = log_write };

	if (log_stream != NULL)
		return;
	log_stream = fopencookie(NULL, "w", io);
	if (log_stream == NULL) {
		jvhost_throw(env, jvhost_runtime, "fopencookie failed");
		return;
	}
	setvbuf(log_stream, NULL, _IOFBF, LOG_BUFFER_SIZE);
	if (rte_openlog_stream(log_stream) != 0)
		jvhost_throw(env, jvhost_runtime, "rte_openlog_stream failed");
}

static jint JNICALL
log_jni_set_global_level(JNIEnv *env, jclass clazz, jint level)
{
	rte_log_set_global_level((uint32_t)level);
	return 0;
}

static jint JNICALL
log_jni_get_global_level(JNIEnv *env, jclass clazz)
{
	return (jint)rte_log_get_global_level();
}

static jint JNICALL
log_jni_set_level_pattern(JNIEnv *env, jclass clazz, jstring pattern, jint level)
{
	const char *chars = (*env)->GetStringUTFChars(env, pattern, NULL);
	int rc;

	if (chars == NULL)
		return -1;
	rc = rte_log_set_level_pattern(chars, (uint32_t)level);
	(*env)->ReleaseStringUTFChars(env, pattern, chars);
	return rc;
}

static jint JNICALL
log_jni_get_level(JNIEnv *env, jclass clazz, jint logtype)
{
	return rte_log_get_level((uint32_t)logtype);
}

/* rte_log_dump() output ("id N: name, level is X" lines): the only 22.11 API naming log types. */
static jbyteArray JNICALL
log_jni_dump(JNIEnv *env, jclass clazz)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	jbyteArray bytes;

	if (f == NULL) {
		jvhost_throw(env, jvhost_runtime, "open_memstream failed");
		return NULL;
	}
	rte_log_dump(f);
	fclose(f);
	bytes = (*env)->NewByteArray(env, (jsize)size);
	if (bytes != NULL)
		(*env)->SetByteArrayRegion(env, bytes, 0, (jsize)size, (const jbyte *)text);
	free(text);
	return bytes;
}

/* Logs through rte_log() itself, so tests can check the whole route from DPDK to Java. */
static void JNICALL
log_jni_log(JNIEnv *env, jclass clazz, jint level, jint logtype, jstring message)
{
	const char *chars = (*env)->GetStringUTFChars(env, message, NULL);

	if (chars == NULL)
		return;
	rte_log((uint32_t)level, (uint32_t)logtype, "%s\n", chars);
	(*env)->ReleaseStringUTFChars(env, message, chars);
}

static const JNINativeMethod methods[] = {
	{ "install", "()V", (void *)log_jni_install },
	{ "setGlobalLevel", "(I)I", (void *)log_jni_set_global_level },
	{ "getGlobalLevel", "()I", (void *)log_jni_get_global_level },
	{ "setLevelPattern", "(Ljava/lang/String;I)I", (void *)log_jni_set_level_pattern },
	{ "getLevel", "(I)I", (void *)log_jni_get_level },
	{ "dump", "()[B", (void *)log_jni_dump },
	{ "log", "(IILjava/lang/String;)V", (void *)log_jni_log },
};

int
jvhost_log_register(JNIEnv *env)
{
	log_class = jvhost_global_class(env, LOG_CLASS);
	if (log_class == NULL)
		return -1;
	log_publish = (*env)->GetStaticMethodID(env, log_class, "publish", "(II[B)V");
	if (log_publish == NULL)
		return -1;
	return jvhost_register(env, LOG_CLASS, methods, JVHOST_ARRAY_SIZE(methods));
}
