package io.userstream.flink;

import java.io.ByteArrayOutputStream;

import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Joins consecutive messages (each one array from {@link KafkaMessageDeserializer}) into one
 * array, so the Python stage is called once per batch instead of once per message.
 *
 * <p>Each call into the embedded Python interpreter and each conversion of its arguments and
 * results has a fixed cost that, per message, is as large as decoding the message. A batch is
 * emitted when it contains {@code maxMessages} messages or {@code maxBytes} bytes, when
 * {@code lingerMillis} have passed since its first message arrived, before every checkpoint
 * barrier, before a watermark and at the end of input. Because nothing stays buffered across a
 * barrier, the operator has no state: a checkpoint covers exactly the messages emitted before it.
 */
public class MessageBatcher extends AbstractStreamOperator<byte[]>
        implements OneInputStreamOperator<byte[], byte[]>, BoundedOneInput {

    private static final long serialVersionUID = 1L;

    private final int maxMessages;
    private final int maxBytes;
    private final long lingerMillis;

    private transient ByteArrayOutputStream buffer;
    private transient int messages;
    private transient boolean timerPending;

    public MessageBatcher(int maxMessages, int maxBytes, long lingerMillis) {
        if (maxMessages < 1 || maxBytes < 1 || lingerMillis < 0) {
            throw new IllegalArgumentException("batch limits must be positive: " + maxMessages
                    + " messages, " + maxBytes + " bytes, " + lingerMillis + " ms");
        }
        this.maxMessages = maxMessages;
        this.maxBytes = maxBytes;
        this.lingerMillis = lingerMillis;
    }

    @Override
    public void open() throws Exception {
        super.open();
        buffer = new ByteArrayOutputStream(Math.min(maxBytes, 1 << 20));
    }

    @Override
    public void processElement(StreamRecord<byte[]> element) throws Exception {
        buffer.write(element.getValue());
        messages++;
        if (messages >= maxMessages || buffer.size() >= maxBytes || lingerMillis == 0) {
            emit();
        } else if (!timerPending) {
            timerPending = true;
            long now = getProcessingTimeService().getCurrentProcessingTime();
            getProcessingTimeService().registerTimer(now + lingerMillis, timestamp -> {
                timerPending = false;
                emit();
            });
        }
    }

    private void emit() {
        if (messages == 0) {
            return;
        }
        output.collect(new StreamRecord<>(buffer.toByteArray()));
        buffer.reset();
        messages = 0;
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        emit();
        super.prepareSnapshotPreBarrier(checkpointId);
    }

    @Override
    public void processWatermark(Watermark mark) throws Exception {
        emit();
        super.processWatermark(mark);
    }

    @Override
    public void endInput() {
        emit();
    }

    @Override
    public void finish() throws Exception {
        emit();
        super.finish();
    }
}
