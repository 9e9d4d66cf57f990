package io.userstream.flink;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;

import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Emits every Kafka record as one byte array: its source position, raw key and raw value.
 *
 * <p>The table connector's {@code raw} format drops records whose value is null, so a tombstone
 * would vanish without a trace. This deserializer emits it with a null value, so the job can
 * store it as a rejected message.
 *
 * <p>The layout, big-endian, is what {@code flink_job.rows.messages} reads:
 * partition (int32), offset (int64), topic length (int16) and topic (UTF-8), key length (int32,
 * -1 for null) and key, value length (int32, -1 for null) and value. One array per record
 * crosses into Python as one object, where a row of six fields would be six conversions.
 */
public class KafkaMessageDeserializer implements KafkaRecordDeserializationSchema<byte[]> {

    private static final long serialVersionUID = 1L;

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<byte[]> out) {
        out.collect(envelope(record.topic(), record.partition(), record.offset(), record.key(),
                record.value()));
    }

    static byte[] envelope(String topic, int partition, long offset, byte[] key, byte[] value) {
        byte[] topicBytes = topic.getBytes(StandardCharsets.UTF_8);
        int size = 4 + 8 + 2 + topicBytes.length + 4 + length(key) + 4 + length(value);
        ByteBuffer buffer = ByteBuffer.allocate(size);
        buffer.putInt(partition).putLong(offset).putShort((short) topicBytes.length)
                .put(topicBytes);
        putBytes(buffer, key);
        putBytes(buffer, value);
        return buffer.array();
    }

    private static int length(byte[] bytes) {
        return bytes == null ? 0 : bytes.length;
    }

    private static void putBytes(ByteBuffer buffer, byte[] bytes) {
        if (bytes == null) {
            buffer.putInt(-1);
        } else {
            buffer.putInt(bytes.length).put(bytes);
        }
    }

    @Override
    public TypeInformation<byte[]> getProducedType() {
        return PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO;
    }
}
