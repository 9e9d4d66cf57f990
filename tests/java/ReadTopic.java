import java.io.FileInputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Counts the messages of a topic with the Java Kafka client the job's KafkaSource uses.
 *
 * <p>Arguments: a properties file (bootstrap.servers plus the security properties), the topic
 * and the number of messages to wait for. Prints "read N" and exits 0 once N messages were
 * read; exits 1 after 60 s.
 */
public class ReadTopic {
    public static void main(String[] args) throws Exception {
        Properties properties = new Properties();
        try (FileInputStream input = new FileInputStream(args[0])) {
            properties.load(input);
        }
        properties.put("key.deserializer", ByteArrayDeserializer.class.getName());
        properties.put("value.deserializer", ByteArrayDeserializer.class.getName());
        properties.put("enable.auto.commit", "false");
        String topic = args[1];
        long expected = Long.parseLong(args[2]);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(properties)) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (PartitionInfo info : consumer.partitionsFor(topic, Duration.ofSeconds(30))) {
                partitions.add(new TopicPartition(topic, info.partition()));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            long read = 0;
            long deadline = System.currentTimeMillis() + 60_000;
            while (read < expected && System.currentTimeMillis() < deadline) {
                read += consumer.poll(Duration.ofSeconds(1)).count();
            }
            System.out.println("read " + read);
            System.exit(read >= expected ? 0 : 1);
        }
    }
}
