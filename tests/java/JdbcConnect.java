import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Connects with a JDBC URL as the job's MySQL sink does and prints the session's TLS cipher.
 *
 * <p>Arguments: the URL and the user; the password comes from the environment variable
 * USERSTREAM_MYSQL_PASSWORD, so it stays out of the command line. Prints "cipher NAME" and
 * exits 0, or prints the driver's message and exits 1.
 */
public class JdbcConnect {
    public static void main(String[] args) {
        String password = System.getenv("USERSTREAM_MYSQL_PASSWORD");
        try (Connection connection = DriverManager.getConnection(args[0], args[1], password);
                Statement statement = connection.createStatement();
                ResultSet result =
                        statement.executeQuery("SHOW SESSION STATUS LIKE 'Ssl_cipher'")) {
            result.next();
            System.out.println("cipher " + result.getString(2));
        } catch (SQLException error) {
            System.out.println("failed: " + error.getMessage());
            System.exit(1);
        }
    }
}
