package io.userstream.flink;

import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;

import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Emits every Kafka record as a row of its raw key, raw value and source position.
 *
 * <p>The table connector's {@code raw} format drops records whose value is null, so a tombstone
 * would vanish without a trace. This deserializer emits it with a null value, so the job can
 * store it as a rejected message. Fields: key (bytes, nullable), value (bytes, nullable), topic,
 * partition, offset, timestamp (epoch milliseconds).
 */
public class KafkaMessageDeserializer implements KafkaRecordDeserializationSchema<Row> {

    private static final long serialVersionUID = 1L;

    public static final String[] FIELD_NAMES = {
        "message_key", "message_value", "topic", "kafka_partition", "kafka_offset", "kafka_timestamp"
    };

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<Row> out) {
        out.collect(Row.of(
                record.key(),
                record.value(),
                record.topic(),
                record.partition(),
                record.offset(),
                record.timestamp()));
    }

    @Override
    public TypeInformation<Row> getProducedType() {
        return Types.ROW_NAMED(
                FIELD_NAMES,
                PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO,
                PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO,
                Types.STRING,
                Types.INT,
                Types.LONG,
                Types.LONG);
    }
}
