import java.util.*;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.common.quota.*;

/**
 * The stock Java Admin client's client quota calls (what kafka-configs.sh --alter / --describe
 * --entity-type users|clients sends), for test/quotas-java.test.ts.
 *
 * Argument: bootstrap. Sets producer_byte_rate of user alice, consumer_byte_rate of the default
 * client id and request_percentage of alice with client id app; describes everything, then user
 * alice only (strict), then the default client id; removes alice's quota; and checks a refused
 * alteration (a fractional byte rate) fails with InvalidRequestException. Prints one line per
 * describe result ("describe <filter>: <entity> <key>=<value>") and "ok" at the end; exits 1 on a
 * wrong answer.
 */
public class QuotasAdmin {
  static void fail(String why) {
    System.out.println("FAIL " + why);
    System.exit(1);
  }

  static ClientQuotaEntity entity(String type, String name) {
    return new ClientQuotaEntity(Collections.singletonMap(type, name));
  }

  static Map<ClientQuotaEntity, Map<String, Double>> describe(Admin admin, String label, ClientQuotaFilter filter) throws Exception {
    Map<ClientQuotaEntity, Map<String, Double>> r = admin.describeClientQuotas(filter).entities().get();
    List<String> lines = new ArrayList<>();
    r.forEach((e, q) -> q.forEach((k, v) -> lines.add("describe " + label + ": " + new TreeMap<>(e.entries()) + " " + k + "=" + v)));
    Collections.sort(lines);
    lines.forEach(System.out::println);
    return r;
  }

  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    try (Admin admin = Admin.create(p)) {
      ClientQuotaEntity alice = entity(ClientQuotaEntity.USER, "alice");
      ClientQuotaEntity defaultClient = entity(ClientQuotaEntity.CLIENT_ID, null);
      Map<String, String> aliceApp = new HashMap<>();
      aliceApp.put(ClientQuotaEntity.USER, "alice");
      aliceApp.put(ClientQuotaEntity.CLIENT_ID, "app");
      admin.alterClientQuotas(List.of(
          new ClientQuotaAlteration(alice, List.of(new ClientQuotaAlteration.Op("producer_byte_rate", 1048576.0))),
          new ClientQuotaAlteration(defaultClient, List.of(new ClientQuotaAlteration.Op("consumer_byte_rate", 2048.0))),
          new ClientQuotaAlteration(new ClientQuotaEntity(aliceApp), List.of(new ClientQuotaAlteration.Op("request_percentage", 12.5)))
      )).all().get();
      if (describe(admin, "all", ClientQuotaFilter.all()).size() != 3) fail("expected 3 entities");
      Map<ClientQuotaEntity, Map<String, Double>> strict = describe(admin, "user=alice strict",
          ClientQuotaFilter.containsOnly(List.of(ClientQuotaFilterComponent.ofEntity(ClientQuotaEntity.USER, "alice"))));
      if (strict.size() != 1 || !Double.valueOf(1048576.0).equals(strict.get(alice).get("producer_byte_rate"))) fail("user alice: " + strict);
      Map<ClientQuotaEntity, Map<String, Double>> defaults = describe(admin, "client-id=<default>",
          ClientQuotaFilter.contains(List.of(ClientQuotaFilterComponent.ofDefaultEntity(ClientQuotaEntity.CLIENT_ID))));
      if (defaults.size() != 1 || !defaults.containsKey(defaultClient)) fail("default client id: " + defaults);
      admin.alterClientQuotas(List.of(new ClientQuotaAlteration(alice, List.of(new ClientQuotaAlteration.Op("producer_byte_rate", null))))).all().get();
      if (describe(admin, "after remove", ClientQuotaFilter.all()).size() != 2) fail("expected 2 entities after the removal");
      try {
        admin.alterClientQuotas(List.of(new ClientQuotaAlteration(alice, List.of(new ClientQuotaAlteration.Op("producer_byte_rate", 1.5))))).all().get();
        fail("a fractional byte rate was accepted");
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof org.apache.kafka.common.errors.InvalidRequestException)) fail("refusal: " + e.getCause());
        System.out.println("refused: " + e.getCause().getMessage());
      }
    }
    System.out.println("ok");
  }
}
